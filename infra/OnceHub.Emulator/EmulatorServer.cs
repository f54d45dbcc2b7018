using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;
using OnceHub.Account;

namespace OnceHub.Emulator;

/// <summary>
/// OnceHub API v2 webhooks on 127.0.0.1: the same endpoints, rules and error JSON, over an in-memory
/// or file-backed account, with injectable faults. This file starts and stops the host; requests pass
/// <see cref="EmulatorGate"/> to <see cref="WebhookEndpoints"/> and the local-delivery routes.
/// </summary>
public sealed class EmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IAccountStore _store;
    private readonly RequestLog _log;

    private EmulatorServer(WebApplication app, IAccountStore store, FaultInjector faults, RequestLog log)
    {
        _app = app;
        _store = store;
        Faults = faults;
        _log = log;
    }

    /// <summary><c>http://127.0.0.1:PORT/v2</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public FaultInjector Faults { get; }

    public int WebhookCount => _store.Snapshot().Count;

    /// <summary>The account's webhooks in creation order, secrets included (their ToString hides them).</summary>
    public IReadOnlyList<StoredWebhook> Webhooks => _store.Snapshot();

    /// <summary>
    /// The latest requests (at most <see cref="EmulatorOptions.RequestLogCapacity"/>), as
    /// <c>METHOD /path?query -> status</c>, in arrival order.
    /// </summary>
    public IReadOnlyList<string> Requests => _log.Entries;

    /// <summary>Every request answered since the start, also those no longer in <see cref="Requests"/>.</summary>
    public int RequestCount => _log.Count;

    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public static async Task<EmulatorServer> StartAsync(EmulatorOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            throw new ArgumentException("EmulatorOptions.ApiKey must be non-empty", nameof(options));
        }

        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentException("EmulatorOptions.Port must be 0..65535", nameof(options));
        }

        var storeOptions = new AccountStoreOptions { AllowInsecureUrls = options.AllowInsecureUrls };
        IAccountStore store = options.DataDirectory is { } dir
            ? new FileAccountStore(dir, storeOptions)
            : new InMemoryAccountStore(storeOptions);
        // Read the account once now: a corrupt one fails the start with its file named, and the first
        // request does not pay for parsing a large one.
        _ = store.Snapshot();

        if (options.RequestLogCapacity is < 1 or > 1_000_000)
        {
            throw new ArgumentException("EmulatorOptions.RequestLogCapacity must be 1..1000000", nameof(options));
        }

        var faults = new FaultInjector();
        try
        {
            faults.Latency = options.Latency;
            faults.RateLimitPerSecond = options.RateLimitPerSecond;
            faults.SetAddressLimit(options.AddressLimit, options.AddressLimitWindow);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            faults.Dispose();
            throw new ArgumentException($"EmulatorOptions: {ex.Message}", nameof(options), ex);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(EmulatorServer).Assembly.GetName().Name,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        // stdout carries the base URL line only (launchers read it); every log line goes to stderr.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // ASP.NET Core's own lines (request start and end, routing) only when asked: the emulator's warnings say what matters.
        builder.Logging.AddFilter("Microsoft.AspNetCore", options.Verbose ? LogLevel.Information : LogLevel.Warning);
        // A start that fails (a port in use) is rethrown to the caller, which reports it in one line.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.Limits.MaxRequestBodySize = EmulatorRules.MaxRequestBodyBytes;
        });

        var app = builder.Build();
        var server = new EmulatorServer(app, store, faults, new RequestLog(options.RequestLogCapacity));
        app.UseGate(faults, server._log, options.ApiKey);
        WebhookEndpoints.MapWebhookEndpoints(app, store, faults, options);
        // Local delivery: trigger route outside /v2 and, with --deliver, the retry loop (LocalDelivery/).
        LocalDelivery.LocalDeliveryEndpoints.MapLocalDelivery(app, store, options.ApiKey, options.LocalDelivery);
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            faults.Dispose();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        server.BaseUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/v2");
        return server;
    }

    /// <summary>Completes when the host is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Faults.Dispose();
    }
}
