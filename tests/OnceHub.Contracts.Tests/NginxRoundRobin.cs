using System.Diagnostics;
using System.Globalization;
using OnceHub.TestSupport;

namespace OnceHub.Contracts.Tests;

/// <summary>
/// nginx as the load balancer in front of receiver replicas: round-robin over fixed loopback ports, run from a
/// configuration of its own in a temporary folder (logs, pid, temp files there), one process in the foreground.
/// </summary>
internal sealed class NginxRoundRobin : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _folder;

    private NginxRoundRobin(Process process, string folder, Uri url)
    {
        _process = process;
        _folder = folder;
        Url = url;
    }

    /// <summary>Where to post; nginx passes the path on to the replica it picks.</summary>
    public Uri Url { get; }

    /// <summary>The nginx binary: on PATH, or where Debian's package puts it (/usr/sbin is not on every user's PATH).</summary>
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/sbin")
            .Select(folder => Path.Combine(folder, "nginx"))
            .FirstOrDefault(File.Exists);

    /// <summary>Starts nginx on a free port in front of <paramref name="upstreamPorts"/> and waits until it accepts connections.</summary>
    public static async Task<NginxRoundRobin> StartAsync(string nginx, IReadOnlyList<int> upstreamPorts)
    {
        var folder = Directory.CreateTempSubdirectory("oncehub-nginx-").FullName;
        var port = LoopbackPort.Free();
        var servers = string.Concat(upstreamPorts.Select(p => string.Create(CultureInfo.InvariantCulture, $"    server 127.0.0.1:{p} max_fails=0;\n")));
        // One process (no master, no workers to leave behind when it is killed); a redelivery is the sender's
        // job, so nginx never passes a failed POST on to another replica itself.
        var config = string.Create(CultureInfo.InvariantCulture, $$"""
            master_process off;
            daemon off;
            pid {{folder}}/nginx.pid;
            error_log {{folder}}/error.log warn;
            events { worker_connections 4096; }
            http {
              access_log {{folder}}/access.log;
              client_body_temp_path {{folder}}/client_body;
              proxy_temp_path {{folder}}/proxy;
              fastcgi_temp_path {{folder}}/fastcgi;
              uwsgi_temp_path {{folder}}/uwsgi;
              scgi_temp_path {{folder}}/scgi;
              upstream replicas {
            {{servers}}    keepalive 64;
              }
              server {
                listen 127.0.0.1:{{port}};
                location / {
                  proxy_pass http://replicas;
                  proxy_http_version 1.1;
                  proxy_set_header Connection "";
                  proxy_next_upstream off;
                }
              }
            }
            """);
        var configPath = Path.Combine(folder, "nginx.conf");
        await File.WriteAllTextAsync(configPath, config);
        var info = new ProcessStartInfo(nginx) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-p", folder, "-c", configPath, "-e", Path.Combine(folder, "error.log") })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        _ = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var proxy = new NginxRoundRobin(process, folder, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")));
        if (!await Eventually.HoldsWithinAsync(() => process.HasExited || Accepts(port), TimeSpan.FromSeconds(10)) || process.HasExited)
        {
            var log = File.Exists(Path.Combine(folder, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(folder, "error.log")) : "";
            await proxy.DisposeAsync();
            throw new InvalidOperationException($"nginx did not start on 127.0.0.1:{port}: {await stderr}{log}");
        }
        return proxy;
    }

    private static bool Accepts(int port)
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            client.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}
