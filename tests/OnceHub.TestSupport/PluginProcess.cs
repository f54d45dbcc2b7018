using System.Diagnostics;
using System.Text;
using Grpc.Net.Client;
using Pulumirpc;

namespace OnceHub.TestSupport;

/// <summary>
/// The published plugin started as the engine starts it: flags, then the engine's address; the port
/// read from stdout; a gRPC client on it. Collects stderr and anything else printed to stdout.
/// </summary>
public sealed class PluginProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr;
    private readonly StringBuilder _stdoutAfterPort;
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;
    private readonly GrpcChannel _channel;

    private PluginProcess(
        Process process, StringBuilder stderr, StringBuilder stdoutAfterPort, Task stdoutPump, Task stderrPump, int port, TimeSpan coldStart)
    {
        _process = process;
        _stderr = stderr;
        _stdoutAfterPort = stdoutAfterPort;
        _stdoutPump = stdoutPump;
        _stderrPump = stderrPump;
        Port = port;
        ColdStart = coldStart;
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        Client = new ResourceProvider.ResourceProviderClient(_channel);
    }

    public ResourceProvider.ResourceProviderClient Client { get; }

    public GrpcChannel Channel => _channel;

    public int Port { get; }

    /// <summary>From exec to the port line on stdout.</summary>
    public TimeSpan ColdStart { get; }

    /// <summary>Everything the plugin wrote to stderr so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Whatever the plugin wrote to stdout after the port line (must stay empty).</summary>
    public string StdoutAfterPort
    {
        get
        {
            lock (_stdoutAfterPort)
            {
                return _stdoutAfterPort.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ProcessId => _process.Id;

    public int ExitCode => _process.ExitCode;

    /// <param name="build">The published plugin.</param>
    /// <param name="engineAddress">Passed last, as the engine does; null to start without one.</param>
    /// <param name="flags">Flags before the address; by default the engine's verbose-logging ones.</param>
    /// <param name="workingDirectory">The plugin's current directory; the repository root by default.</param>
    /// <param name="environment">Extra variables; ONCEHUB_API_KEY is removed unless given here.</param>
    public static Task<PluginProcess> StartAsync(
        PluginBuild build,
        string? engineAddress,
        IEnumerable<string>? flags = null,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(build.BinaryPath, engineAddress, flags, workingDirectory ?? build.RepoRoot, environment);

    /// <param name="binary">The plugin executable.</param>
    /// <param name="engineAddress">Passed last, as the engine does; null to start without one.</param>
    /// <param name="flags">Flags before the address; by default the engine's verbose-logging ones.</param>
    /// <param name="workingDirectory">The plugin's current directory.</param>
    /// <param name="environment">Extra variables; ONCEHUB_API_KEY is removed unless given here.</param>
    public static async Task<PluginProcess> StartAsync(
        string binary,
        string? engineAddress,
        IEnumerable<string>? flags,
        string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(binary)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var flag in flags ?? ["--logtostderr", "-v=9"])
        {
            start.ArgumentList.Add(flag);
        }

        if (engineAddress is not null)
        {
            start.ArgumentList.Add(engineAddress);
        }

        start.Environment.Remove("ONCEHUB_API_KEY");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var clock = Stopwatch.StartNew();
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the plugin");
        var stderr = new StringBuilder();
        var stderrPump = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
            {
                lock (stderr)
                {
                    stderr.AppendLine(line);
                }
            }
        });

        var firstLine = process.StandardOutput.ReadLineAsync();
        if (await Task.WhenAny(firstLine, Task.Delay(TimeSpan.FromSeconds(60))) != firstLine || firstLine.Result is null)
        {
            process.Kill(entireProcessTree: true);
            string err;
            lock (stderr)
            {
                err = stderr.ToString();
            }

            throw new InvalidOperationException("the plugin printed no port line; stderr:\n" + err);
        }

        var coldStart = clock.Elapsed;
        var portText = firstLine.Result;
        if (!int.TryParse(portText, out var port) || port is <= 0 or > 65535)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"the plugin's first stdout line is not a port: '{portText}'");
        }

        var extra = new StringBuilder();
        var stdoutPump = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (extra)
                {
                    extra.AppendLine(line);
                }
            }
        });

        return new PluginProcess(process, stderr, extra, stdoutPump, stderrPump, port, coldStart);
    }

    /// <summary>Waits for the process to end; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_stdoutPump, _stderrPump);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
