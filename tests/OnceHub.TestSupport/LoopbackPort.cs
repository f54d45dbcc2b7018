using System.Net;
using System.Net.Sockets;

namespace OnceHub.TestSupport;

/// <summary>
/// A port free on 127.0.0.1 right now, for a server that must be named in a webhook's URL before it can start
/// (its secret comes from the Create that needs the URL).
/// </summary>
public static class LoopbackPort
{
    public static int Free()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
