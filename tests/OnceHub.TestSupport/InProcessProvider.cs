using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using OnceHub.Provider;
using OnceHub.Provider.Protocol;
using Pulumirpc;

namespace OnceHub.TestSupport;

/// <summary>
/// The provider built by <see cref="ProviderHost"/>, as the plugin builds it, but hosted in this process
/// (Kestrel on 127.0.0.1, port 0) with a gRPC channel to it: the plugin minus the process around it.
/// </summary>
public sealed class InProcessProvider : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LogCollector _log;

    private InProcessProvider(WebApplication app, LogCollector log, int port)
    {
        _app = app;
        _log = log;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        Client = new ResourceProvider.ResourceProviderClient(Channel);
    }

    public GrpcChannel Channel { get; }

    public ResourceProvider.ResourceProviderClient Client { get; }

    /// <summary>Everything the provider logged, at the verbosity it was started with (where the plugin writes stderr).</summary>
    public string Log => _log.Text;

    /// <summary>Completes when the provider stops on its own (Cancel).</summary>
    public CancellationToken Stopped => _app.Lifetime.ApplicationStopped;

    /// <param name="engineAddress">The engine's address, as the command line gives it.</param>
    /// <param name="workingDirectory">Where relative <c>file:</c> accounts resolve; the repository root by default.</param>
    /// <param name="environment">The only environment variables the provider sees.</param>
    /// <param name="verbosity">The <c>-v</c> level: 9 logs everything.</param>
    public static async Task<InProcessProvider> StartAsync(
        string? engineAddress, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null, int verbosity = 9)
    {
        var log = new LogCollector();
        var commandLine = new CommandLine(engineAddress, verbosity, LogToStderr: false);
        var app = ProviderHost.Build(new ProviderHostOptions
        {
            CommandLine = commandLine,
            WorkingDirectory = workingDirectory ?? Repository.Root,
            Environment = key => environment?.GetValueOrDefault(key),
            Logging = logging => logging.AddProvider(log),
        });
        var port = await ProviderHost.StartAsync(app);
        ProviderHost.ConnectEngine(app, engineAddress);
        return new InProcessProvider(app, log, port);
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
