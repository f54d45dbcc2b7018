using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Signing;

namespace OnceHub.Contracts.Receiver;

/// <summary>An event the receiver accepted for processing (first delivery of its id).</summary>
public sealed record ReceivedEvent(string Id, string Type, JsonElement Payload);

public sealed class ReceiverOptions
{
    /// <summary>The webhook's signing secret(s); several during a rollover. Required.</summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    /// <summary>SQLite file for the processed event ids; null keeps them in memory (lost on restart).</summary>
    public string? DatabasePath { get; init; }

    /// <summary>Loopback port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>How far the signature's timestamp may be from this machine's clock.</summary>
    public TimeSpan Tolerance { get; init; } = SignatureVerifier.DefaultTolerance;

    /// <summary>Largest body accepted; OnceHub payloads are a few kilobytes.</summary>
    public int MaxBodyBytes { get; init; } = 1024 * 1024;

    /// <summary>Your processing. Throwing makes the receiver answer 500 and forget the id, so OnceHub's retry is processed.</summary>
    public Func<ReceivedEvent, CancellationToken, Task>? OnEvent { get; init; }

    /// <summary>The receiver's clock (for tests); default the system clock.</summary>
    public TimeProvider? Clock { get; init; }
}

/// <summary>
/// A webhook receiver that honours OnceHub's contract, meant to be read and copied: POST
/// <see cref="Path"/> verifies the signature (401 when missing, forged, tampered or stale), validates the
/// payload (400), records the event id in SQLite (INSERT OR IGNORE) and answers 200 at once; a
/// redelivered id answers 200 again without being processed twice.
/// </summary>
public sealed class ReferenceReceiver : IAsyncDisposable
{
    public const string Path = "/webhooks/oncehub";

    private readonly WebApplication _app;
    private readonly ProcessedEventStore _store;
    private int _processed;
    private int _duplicates;

    private ReferenceReceiver(WebApplication app, ProcessedEventStore store)
    {
        _app = app;
        _store = store;
    }

    /// <summary>The full URL to deliver to, e.g. http://127.0.0.1:5123/webhooks/oncehub.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>Events processed by this instance (first deliveries only).</summary>
    public int ProcessedCount => Volatile.Read(ref _processed);

    /// <summary>Deliveries of an already processed id, acknowledged without processing.</summary>
    public int DuplicateCount => Volatile.Read(ref _duplicates);

    public static async Task<ReferenceReceiver> StartAsync(ReceiverOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Secrets.Count == 0)
        {
            throw new ArgumentException("the receiver needs at least one webhook secret", nameof(options));
        }
        var verifier = new SignatureVerifier(options.Secrets, options.Tolerance, options.Clock);
        var validator = PayloadValidator.Default;
        var store = new ProcessedEventStore(options.DatabasePath);

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
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
        });
        var app = builder.Build();
        var receiver = new ReferenceReceiver(app, store);

        app.MapPost(Path, async (HttpContext http) =>
        {
            // 1. The raw bytes: the signature covers them exactly, so read before any parsing.
            byte[] body;
            try
            {
                body = await ReadBodyAsync(http.Request, options.MaxBodyBytes, http.RequestAborted);
            }
            catch (BadHttpRequestException)
            {
                return Results.Text("body too large", statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            // 2. Authenticity and freshness before anything else: forged, tampered or replayed deliveries stop here.
            var check = verifier.Verify(http.Request.Headers[WebhookSigner.HeaderName].ToString(), body);
            if (!check.IsValid)
            {
                return Results.Text(check.Reason, statusCode: StatusCodes.Status401Unauthorized);
            }

            // 3. Shape: a signed but invalid payload is refused with 400 (OnceHub does not retry 4xx forever).
            var errors = validator.Validate(body);
            if (errors.Count > 0)
            {
                return Results.Text("invalid payload: " + string.Join("; ", errors.Take(5)), statusCode: StatusCodes.Status400BadRequest);
            }

            // 4. At most once: the first delivery of an id is processed; redeliveries are acknowledged only.
            using var payload = JsonDocument.Parse(body);
            var id = payload.RootElement.GetProperty("id").GetString()!;
            var type = payload.RootElement.GetProperty("type").GetString()!;
            if (!store.TryRecord(id, type))
            {
                Interlocked.Increment(ref receiver._duplicates);
                return Results.Text("duplicate", statusCode: StatusCodes.Status200OK);
            }
            if (options.OnEvent is { } handler)
            {
                try
                {
                    // Keep this quick (queue heavy work): OnceHub counts a slow answer as a failure.
                    await handler(new ReceivedEvent(id, type, payload.RootElement.Clone()), http.RequestAborted);
                }
                catch (Exception)
                {
                    // Whatever stopped the handler (its own failure, or OnceHub hanging up and so
                    // cancelling it), the event was not processed: forget the id so the retry is.
                    store.Forget(id);
                    return Results.Text("processing failed", statusCode: StatusCodes.Status500InternalServerError);
                }
            }
            Interlocked.Increment(ref receiver._processed);
            return Results.Text("processed", statusCode: StatusCodes.Status200OK);
        });

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
        receiver.Url = new Uri(new Uri(address), Path);
        return receiver;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, int limit, CancellationToken ct)
    {
        using var buffer = new MemoryStream(request.ContentLength is > 0 and var n && n <= limit ? (int)n : 4096);
        await request.Body.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _store.Dispose();
    }
}
