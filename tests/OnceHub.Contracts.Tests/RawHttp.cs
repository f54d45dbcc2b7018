using System.Net.Sockets;
using System.Text;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

/// <summary>HTTP/1.1 over a bare socket, for requests HttpClient will not make: a body announced and not sent.</summary>
internal static class RawHttp
{
    public static string Headers(Uri url, long contentLength, string? signature) =>
        $"POST {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: application/json\r\nContent-Length: {contentLength}\r\n"
        + (signature is null ? "" : $"{WebhookSigner.HeaderName}: {signature}\r\n")
        + "\r\n";

    /// <summary>Sends only the headers and returns the status line of the answer (the body is never sent).</summary>
    public static async Task<string> SendHeadersOnlyAsync(Uri url, long contentLength, string? signature)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(url.Host, url.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(Headers(url, contentLength, signature)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[512];
        var read = await stream.ReadAsync(buffer, timeout.Token);
        return Encoding.ASCII.GetString(buffer, 0, read).Split("\r\n")[0];
    }

    /// <summary>
    /// A stranger: announces <paramref name="contentLength"/> bytes with a well-formed, fresh but forged
    /// signature, sends <paramref name="sent"/> bytes, stops sending and waits until the receiver is done
    /// with the connection (answers or closes).
    /// </summary>
    public static async Task StrangerAsync(Uri url, long contentLength, int sent, string forgedSignature)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(url.Host, url.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(Headers(url, contentLength, forgedSignature)));
        await stream.WriteAsync(new byte[sent]);
        client.Client.Shutdown(SocketShutdown.Send);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[512];
        try
        {
            while (await stream.ReadAsync(buffer, timeout.Token) > 0)
            {
            }
        }
        catch (IOException ex) when (ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset })
        {
            // The receiver gave up on the cut-short body by resetting the connection: it is done with it too.
        }
    }
}
