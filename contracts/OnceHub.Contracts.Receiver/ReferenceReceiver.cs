using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OnceHub.Webhooks;
using OnceHub.Webhooks.PostgreSql;

namespace OnceHub.Contracts.Receiver;

public sealed record ReceiverOptions
{
    /// <summary>The webhook's signing secret(s); several during a rollover. Required unless <see cref="Endpoints"/> is given.</summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    /// <summary>
    /// Paths to serve, each with its own secrets (see <see cref="AccountEndpoints"/>); empty serves
    /// <see cref="ReferenceReceiver.Path"/> with <see cref="Secrets"/>. The endpoints share one event store, so an
    /// event id settled at one path is a duplicate at another.
    /// </summary>
    public IReadOnlyList<ReceiverEndpoint> Endpoints { get; init; } = [];

    /// <summary>Where event ids and the quarantine are kept; default in memory (lost on restart).</summary>
    public ReceiverStore Store { get; init; } = ReceiverStore.Memory;

    /// <summary>Loopback port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>How far the signature's timestamp may be from this machine's clock.</summary>
    public TimeSpan Tolerance { get; init; } = SignatureVerifier.DefaultTolerance;

    /// <summary>Largest body accepted; OnceHub payloads are a few kilobytes.</summary>
    public int MaxBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>Your processing. Throwing answers 500 (OnceHub retries); after <see cref="MaxHandlerFailures"/> the event is quarantined.</summary>
    public Func<ReceivedEvent, CancellationToken, Task>? OnEvent { get; init; }

    /// <summary>
    /// With a <c>postgres:</c> store: each handled event also writes one row to <see cref="ReceiverEffects.Table"/> in
    /// the transaction that settles it (the inbox), so effects can be counted against events.
    /// </summary>
    public bool RecordEffects { get; init; }

    /// <inheritdoc cref="WebhookPipelineOptions.InFlightLease"/>
    public TimeSpan InFlightLease { get; init; } = TimeSpan.FromMinutes(2);

    /// <inheritdoc cref="WebhookPipelineOptions.MaxHandlerFailures"/>
    public int MaxHandlerFailures { get; init; } = 5;

    /// <summary>The receiver's clock (for tests); default the system clock.</summary>
    public TimeProvider? Clock { get; init; }

    /// <summary>Where the receiver logs (warnings for quarantined events and schema findings); default none.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>
/// A webhook receiver that honours OnceHub's contract, meant to be read and copied: a thin host of the
/// OnceHub.Webhooks library (<c>AddOnceHubWebhooks</c> and <c>MapOnceHubWebhooks</c> on POST <see cref="Path"/>),
/// so its answers are the library's: 401 for a missing, forged, tampered or stale signature (checked before
/// the body is read); 413 for a body over the cap; otherwise 2xx for every authentic delivery (processed,
/// duplicate, ignored or quarantined), 409 while another delivery of the same id is being handled, 500 when
/// the handler fails.
/// </summary>
public sealed class ReferenceReceiver : IAsyncDisposable
{
    public const string Path = "/webhooks/oncehub";

    private readonly WebApplication _app;
    private readonly IEventStore _store;
    private int _disposed;
    private readonly int[] _counts = new int[Enum.GetValues<ReceiveOutcome>().Length];

    private ReferenceReceiver(WebApplication app, IEventStore store, WebhookPipeline pipeline)
    {
        _app = app;
        _store = store;
        Pipeline = pipeline;
    }

    /// <summary>The full URL to deliver to, e.g. http://127.0.0.1:5123/webhooks/oncehub (the first endpoint's).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The receiving rules over this host's store and handler (the first endpoint's; for replaying quarantined events).</summary>
    public WebhookPipeline Pipeline { get; }

    /// <summary>Events handled successfully by this instance.</summary>
    public int ProcessedCount => Count(ReceiveOutcome.Processed);

    /// <summary>Deliveries of an already settled id, acknowledged without processing.</summary>
    public int DuplicateCount => Count(ReceiveOutcome.Duplicate);

    public int Count(ReceiveOutcome outcome) => Volatile.Read(ref _counts[(int)outcome]);

    public static async Task<ReferenceReceiver> StartAsync(ReceiverOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<ReceiverEndpoint> endpoints = options.Endpoints.Count > 0 ? options.Endpoints : [new ReceiverEndpoint(Path, options.Secrets)];
        if (endpoints.Any(e => e.Secrets.Count == 0))
        {
            throw new ArgumentException("the receiver needs at least one webhook secret", nameof(options));
        }
        if (endpoints.Any(e => !e.Path.StartsWith('/')) || endpoints.Select(e => e.Path).Distinct(StringComparer.Ordinal).Count() != endpoints.Count)
        {
            throw new ArgumentException("each endpoint needs a distinct path starting with '/'", nameof(options));
        }
        if (options.MaxBodyBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxBodyBytes must be positive");
        }
        if (options.RecordEffects && options.Store.PostgresConnection is null)
        {
            throw new ArgumentException("RecordEffects needs a postgres: store", nameof(options));
        }
        var store = options.Store.Open();
        WebhookPipeline pipeline;
        var onEvent = options.OnEvent;
        try
        {
            if (store is PostgreSqlEventStore postgres)
            {
                // An unreachable database stops the start with its reason, instead of failing every delivery.
                await postgres.EnsureSchemaAsync(cancellationToken);
                if (options.RecordEffects)
                {
                    await ReceiverEffects.CreateTableAsync(options.Store.PostgresConnection!, cancellationToken);
                    onEvent = ReceiverEffects.Handler(new PostgreSqlInbox(postgres), options.OnEvent);
                }
            }
            // The same rules the endpoint serves, kept here for replay (the store is shared and thread-safe).
            pipeline = new WebhookPipeline(new WebhookPipelineOptions
            {
                Secrets = endpoints[0].Secrets,
                Tolerance = options.Tolerance,
                Handler = onEvent,
                InFlightLease = options.InFlightLease,
                MaxHandlerFailures = options.MaxHandlerFailures,
                Clock = options.Clock,
            }, store, options.LoggerFactory?.CreateLogger<WebhookPipeline>());
        }
        catch
        {
            store.Dispose();
            throw;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        if (options.LoggerFactory is { } loggers)
        {
            builder.Services.AddSingleton(loggers);
        }
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
        });
        // The options come from the command line, not from the configuration the library would read.
        builder.Services.AddSingleton<IEventStore>(store);
        builder.Services.AddOnceHubWebhooks(o =>
        {
            o.Secrets.Clear();
            // Each endpoint verifies with its own secrets (UseSecrets below); these only satisfy the library's start-up check.
            o.Secrets.AddRange(endpoints[0].Secrets);
            o.SecretsSource = "the receiver's options";
            o.Tolerance = options.Tolerance;
            o.MaxBodyBytes = options.MaxBodyBytes;
            o.InFlightLease = options.InFlightLease;
            o.MaxHandlerFailures = options.MaxHandlerFailures;
            o.Clock = options.Clock;
        });
        var app = builder.Build();
        var receiver = new ReferenceReceiver(app, store, pipeline);
        foreach (var endpoint in endpoints)
        {
            app.MapOnceHubWebhooks(endpoint.Path, handlers =>
            {
                handlers.UseSecrets(endpoint.Secrets);
                if (onEvent is { } handler)
                {
                    handlers.OnAnyEvent(handler);
                }
                handlers.OnResult(result => Interlocked.Increment(ref receiver._counts[(int)result.Outcome]));
            });
        }

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            store.Dispose();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Url = new Uri(new Uri(address), endpoints[0].Path);
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent, as disposal should be: a test may stop a receiver early and its scope dispose it again.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
        _store.Dispose();
    }
}
