using System.Diagnostics;
using Grpc.Net.Client;
using Pulumirpc;

namespace OnceHub.Benchmarks.Harness;

/// <summary>The published plugin started as the engine starts it, with a gRPC client on the port it prints.</summary>
public sealed class PluginHost : IAsyncDisposable
{
    private readonly Process _process;
    private readonly GrpcChannel _channel;
    private readonly Task _stderrPump;
    private readonly Queue<string> _stderrTail = new();

    private PluginHost(Process process, int port)
    {
        _process = process;
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        Client = new ResourceProvider.ResourceProviderClient(_channel);
        _stderrPump = PumpStderr();
    }

    public ResourceProvider.ResourceProviderClient Client { get; }

    /// <summary>The plugin's last stderr lines (it redacts keys and secrets itself).</summary>
    public IReadOnlyList<string> StderrTail
    {
        get
        {
            lock (_stderrTail)
            {
                return [.. _stderrTail];
            }
        }
    }

    public static async Task<PluginHost> StartAsync(string binary, string engineAddress)
    {
        var start = ChildProcess.StartInfo(binary, [engineAddress], Path.GetDirectoryName(binary)!);
        start.Environment.Remove("ONCEHUB_API_KEY");
        var process = Process.Start(start) ?? throw new BenchmarkException("could not start the plugin");
        var line = process.StandardOutput.ReadLineAsync();
        if (await Task.WhenAny(line, Task.Delay(TimeSpan.FromSeconds(30))) != line || !int.TryParse(await line, out var port))
        {
            process.Kill(entireProcessTree: true);
            throw new BenchmarkException("the plugin printed no port line within 30 s");
        }

        _ = process.StandardOutput.ReadToEndAsync();
        return new PluginHost(process, port);
    }

    private async Task PumpStderr()
    {
        while (await _process.StandardError.ReadLineAsync() is { } line)
        {
            lock (_stderrTail)
            {
                _stderrTail.Enqueue(line);
                if (_stderrTail.Count > 20)
                {
                    _stderrTail.Dequeue();
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
        await _stderrPump;
        _process.Dispose();
    }
}
