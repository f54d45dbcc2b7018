using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OnceHub.Contracts.Signing;

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

    /// <summary>SQLite file for event ids and quarantine; null keeps them in memory (lost on restart).</summary>
    public string? DatabasePath { get; init; }

    /// <summary>Loopback port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>How far the signature's timestamp may be from this machine's clock.</summary>
    public TimeSpan Tolerance { get; init; } = SignatureVerifier.DefaultTolerance;

    /// <summary>Largest body accepted; OnceHub payloads are a few kilobytes.</summary>
    public int MaxBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>Your processing. Throwing answers 500 (OnceHub retries); after <see cref="MaxHandlerFailures"/> the event is quarantined.</summary>
    public Func<ReceivedEvent, CancellationToken, Task>? OnEvent { get; init; }

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
/// A webhook receiver that honours OnceHub's contract, meant to be read and copied: a thin HTTP host of
/// <see cref="WebhookPipeline"/> on POST <see cref="Path"/>. 401 for a missing, forged, tampered or stale
/// signature (checked before the body is read); 413 for a body over the cap; otherwise 2xx for every
/// authentic delivery (processed, duplicate, ignored or quarantined), 409 while another delivery of the
/// same id is being handled, 500 when the handler fails.
/// </summary>
public sealed class ReferenceReceiver : IAsyncDisposable
{
    public const string Path = "/webhooks/oncehub";

    private readonly WebApplication _app;
    private readonly IEventStore _store;
    private readonly int[] _counts = new int[Enum.GetValues<ReceiveOutcome>().Length];

    private ReferenceReceiver(WebApplication app, IEventStore store, WebhookPipeline pipeline)
    {
        _app = app;
        _store = store;
        Pipeline = pipeline;
    }

    /// <summary>The full URL to deliver to, e.g. http://127.0.0.1:5123/webhooks/oncehub (the first endpoint's).</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>The receiving rules this host serves (the first endpoint's; for replaying quarantined events).</summary>
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
        var store = new SqliteEventStore(options.DatabasePath);
        var pipelines = new List<(string Path, WebhookPipeline Pipeline)>();
        try
        {
            pipelines.AddRange(endpoints.Select(endpoint => (endpoint.Path, new WebhookPipeline(new WebhookPipelineOptions
            {
                Secrets = endpoint.Secrets,
                Tolerance = options.Tolerance,
                Handler = options.OnEvent,
                InFlightLease = options.InFlightLease,
                MaxHandlerFailures = options.MaxHandlerFailures,
                Clock = options.Clock,
            }, store, options.LoggerFactory?.CreateLogger<WebhookPipeline>()))));
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
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.AddServerHeader = false;
            // A larger announced Content-Length is refused (413) before any byte of the body is read.
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
        });
        var app = builder.Build();
        var receiver = new ReferenceReceiver(app, store, pipelines[0].Pipeline);

        foreach (var (path, pipeline) in pipelines)
        {
            app.MapPost(path, async (HttpContext http) =>
            {
                var header = http.Request.Headers.TryGetValue(WebhookSigner.HeaderName, out var h) ? h.ToString() : null;
                var result = pipeline.CheckHeader(header) ?? await ReadAndReceiveAsync(pipeline, http, header, options.MaxBodyBytes);
                Interlocked.Increment(ref receiver._counts[(int)result.Outcome]);
                return Results.Text(result.Message, statusCode: result.StatusCode);
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
        receiver.Url = new Uri(new Uri(address), pipelines[0].Path);
        return receiver;
    }

    private static async Task<ReceiveResult> ReadAndReceiveAsync(WebhookPipeline pipeline, HttpContext http, string? header, int limit)
    {
        ReadOnlyMemory<byte>? body;
        try
        {
            // The raw bytes: the signature covers them exactly, so read before any parsing.
            body = await WebhookPipeline.ReadBodyAsync(http.Request.Body, limit, http.RequestAborted);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own limits (announced length over the cap, body cut short, too slow).
            return new ReceiveResult(ReceiveOutcome.Refused, ex.StatusCode, "unreadable body");
        }
        return body is { } bytes
            ? await pipeline.ReceiveAsync(header, bytes, http.RequestAborted)
            : new ReceiveResult(ReceiveOutcome.Refused, StatusCodes.Status413PayloadTooLarge, "body too large");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _store.Dispose();
    }
}
