using System.ComponentModel;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OnceHub.Events;

namespace OnceHub.Webhooks;

/// <summary>
/// OnceHub's receiving rules, apart from any HTTP host: verify → parse → quarantine → claim (in-flight,
/// de-duplicate) → flag or skip stale events → handle. Every authentic delivery gets a 2xx unless the handler fails, because OnceHub
/// retries any other answer for days and then disables the webhook: refusing an authentic event
/// loses it and every later one. Guarantee: each event is handled at least once and, while the store
/// remembers its id, not again after it succeeded.
/// </summary>
public sealed class WebhookPipeline
{
    private readonly WebhookPipelineOptions _options;
    private readonly IEventStore _store;
    private readonly ILogger _logger;
    private readonly SignatureVerifier _verifier;
    private readonly TimeProvider _clock;
    private readonly SchemaCheckQueue _schemaChecks;

    /// <summary>Schema checks per second (in the background, after the answer); deliveries over it are not checked.</summary>
    public const int SchemaChecksPerSecond = SchemaCheckQueue.ChecksPerSecond;

    /// <summary>How many deliveries may wait for their schema check before further checks are dropped.</summary>
    public const int SchemaQueueCapacity = SchemaCheckQueue.Capacity;

    public WebhookPipeline(WebhookPipelineOptions options, IEventStore store, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        if (options.Secrets.Count == 0)
        {
            throw new ArgumentException("the receiver needs at least one webhook secret", nameof(options));
        }
        if (options.MaxHandlerFailures < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxHandlerFailures must be at least 1");
        }
        if (options.InFlightLease <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "InFlightLease must be positive");
        }
        _options = options;
        _store = store;
        _logger = logger ?? NullLogger.Instance;
        _clock = options.Clock ?? TimeProvider.System;
        _verifier = new SignatureVerifier(options.Secrets, options.Tolerance, _clock);
        _schemaChecks = new SchemaCheckQueue(_logger);
    }

    public IEventStore Store => _store;

    /// <summary>
    /// What the header alone decides, before any body byte is read: a missing, malformed or stale signature
    /// is refused here, so a stranger cannot make the receiver read (and hold) a body. Null: read the body.
    /// </summary>
    public ReceiveResult? CheckHeader(string? signatureHeader)
    {
        var check = _verifier.CheckHeader(signatureHeader);
        return check.IsValid ? null : Unauthorized(check.Reason);
    }

    /// <summary>
    /// Reads a request body of at most <paramref name="limit"/> bytes, growing the buffer with what actually
    /// arrives (never sized from an unauthenticated Content-Length). Null when the body is larger.
    /// </summary>
    [EditorBrowsable(EditorBrowsableState.Never)]
    public static Task<ReadOnlyMemory<byte>?> ReadBodyAsync(Stream body, int limit, CancellationToken cancellationToken) =>
        BodyBuffer.ReadCopyAsync(body, limit, cancellationToken);

    /// <summary>Applies the receiving rules to one delivery: the raw signature header and the raw body.</summary>
    public async Task<ReceiveResult> ReceiveAsync(string? signatureHeader, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        // 1. Authenticity and freshness before anything else: forged, tampered or replayed deliveries stop here.
        var check = _verifier.Verify(signatureHeader, body.Span);
        if (!check.IsValid)
        {
            return Unauthorized(check.Reason);
        }

        // 2. From here on the delivery is OnceHub's: whatever it holds, refusing it would only get it retried.
        var now = _clock.GetUtcNow();
        if (!TryReadEnvelope(body, out var payload, out var id, out var type, out var unusable))
        {
            var entry = await _store.QuarantineAsync(id, type, unusable, body, now).ConfigureAwait(false);
            _logger.LogWarning("Quarantined authentic delivery as entry {Entry}: {Reason}", entry, unusable);
            return new ReceiveResult(ReceiveOutcome.Quarantined, StatusCodes.Status200OK, $"quarantined as entry {entry}: {unusable}");
        }
        // 3. A type this receiver does not know (OnceHub adds types over time): acknowledge and remember.
        if (!EventCatalog.IsDeliverable(type))
        {
            if (await _store.GetSettledAsync(id).ConfigureAwait(false) is null)
            {
                await _store.SettleAsync(id, type, SettledAs.Ignored, now).ConfigureAwait(false);
            }
            _logger.LogInformation("Ignored event {EventId} of unknown type '{EventType}'", id, type);
            return new ReceiveResult(ReceiveOutcome.Ignored, StatusCodes.Status200OK, $"ignored: unknown event type '{type}'");
        }

        // 4. Claim the id: settled before → duplicate; another delivery handling it → 409, retried later.
        switch (await _store.TryBeginAsync(id, type, now, now + _options.InFlightLease).ConfigureAwait(false))
        {
            case BeginOutcome.AlreadyDone:
                return new ReceiveResult(ReceiveOutcome.Duplicate, StatusCodes.Status200OK, "duplicate");
            case BeginOutcome.InFlight:
                return new ReceiveResult(ReceiveOutcome.InFlight, StatusCodes.Status409Conflict,
                    "another delivery of this event is being processed; retry later");
        }

        // 5. A known type whose data breaks the schema is still handled: OnceHub's shape evolves (a new enum
        // value, a field that changed type), and refusing it would lose the event. The check only logs, and
        // only for the delivery that owns the id (a redelivery's findings were logged the first time).
        _schemaChecks.Add(body, id, type);

        // 6. A late delivery about an object whose newer state was processed already is stale: the handler is
        // told, or, when the receiver skips stale events, it is acknowledged and recorded without handling.
        var update = ObjectUpdate.Read(type, payload);
        var received = new ReceivedEvent(id, type, payload) { IsStale = await IsStaleAsync(update).ConfigureAwait(false) };
        if (received.IsStale && _options.SkipStaleEvents)
        {
            await _store.SettleAsync(id, type, SettledAs.Skipped, now).ConfigureAwait(false);
            _logger.LogInformation("Skipped stale event {EventId} ({EventType}): {ObjectId} changed after {LastUpdatedTime:O}",
                id, type, update!.ObjectId, update.LastUpdatedTime);
            return new ReceiveResult(ReceiveOutcome.Skipped, StatusCodes.Status200OK,
                $"skipped: a later update of {update.ObjectId} was processed already");
        }

        // 7. Handle. A failure releases the id for OnceHub's retry; too many failures quarantine the
        // event, so that one poison event cannot get the webhook disabled. Success records the object's time.
        var failure = await HandleAsync(received, cancellationToken).ConfigureAwait(false);
        now = _clock.GetUtcNow();
        if (failure is null)
        {
            await _store.SettleAsync(id, type, SettledAs.Processed, now, update).ConfigureAwait(false);
            return new ReceiveResult(ReceiveOutcome.Processed, StatusCodes.Status200OK, "processed");
        }
        var hungUp = failure is OperationCanceledException && cancellationToken.IsCancellationRequested;
        var failures = await _store.RecordFailureAsync(id, now, counts: !hungUp).ConfigureAwait(false);
        if (hungUp)
        {
            return new ReceiveResult(ReceiveOutcome.HandlerFailed, StatusCodes.Status500InternalServerError, "processing canceled");
        }
        if (failures >= _options.MaxHandlerFailures)
        {
            var reason = $"the handler failed {failures} times (last: {failure.GetType().Name})";
            var entry = await _store.QuarantineAsync(id, type, reason, body, now).ConfigureAwait(false);
            await _store.SettleAsync(id, type, SettledAs.Quarantined, now).ConfigureAwait(false);
            _logger.LogError(failure, "Quarantined event {EventId} ({EventType}) as entry {Entry}: {Reason}", id, type, entry, reason);
            return new ReceiveResult(ReceiveOutcome.Quarantined, StatusCodes.Status200OK, $"quarantined as entry {entry}: {reason}");
        }
        _logger.LogError(failure, "Handler failed on event {EventId} ({EventType}), failure {Failures} of {Max}",
            id, type, failures, _options.MaxHandlerFailures);
        return new ReceiveResult(ReceiveOutcome.HandlerFailed, StatusCodes.Status500InternalServerError, "processing failed");
    }

    /// <summary>Hands a quarantined event to the handler again (after the handler or the data was fixed).</summary>
    public async Task<ReplayResult> ReplayAsync(long entryId, CancellationToken cancellationToken = default)
    {
        var entry = await _store.GetQuarantinedAsync(entryId).ConfigureAwait(false);
        if (entry is null)
        {
            return new ReplayResult(ReplayOutcome.NotFound, $"no quarantine entry {entryId}");
        }
        if (entry.ReplayedAt is { } at)
        {
            return new ReplayResult(ReplayOutcome.AlreadyReplayed, $"entry {entryId} was replayed at {at:O}");
        }
        if (!TryReadEnvelope(entry.Body, out var payload, out var id, out var type, out var unusable))
        {
            return new ReplayResult(ReplayOutcome.Unusable, $"entry {entryId} cannot be handed over: {unusable}");
        }
        // A replay is the operator's decision, so a stale event is handed over (flagged) rather than skipped.
        var update = ObjectUpdate.Read(type, payload);
        var received = new ReceivedEvent(id, type, payload) { IsStale = await IsStaleAsync(update).ConfigureAwait(false) };
        var failure = await HandleAsync(received, cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            _logger.LogError(failure, "Replay of quarantine entry {Entry} (event {EventId}) failed", entryId, id);
            return new ReplayResult(ReplayOutcome.HandlerFailed, $"the handler failed again ({failure.GetType().Name}); entry {entryId} stays in quarantine");
        }
        var now = _clock.GetUtcNow();
        await _store.SettleAsync(id, type, SettledAs.Processed, now, update).ConfigureAwait(false);
        await _store.MarkReplayedAsync(entryId, now).ConfigureAwait(false);
        return new ReplayResult(ReplayOutcome.Replayed, $"entry {entryId} (event {id}, {type}) processed");
    }

    // Strictly older only: two events of one change carry the same time, and neither is late.
    private async ValueTask<bool> IsStaleAsync(ObjectUpdate? update) =>
        update is not null
        && await _store.GetLastUpdatedTimeAsync(update.ObjectId).ConfigureAwait(false) is { } newest
        && update.LastUpdatedTime < newest;

    private async Task<Exception?> HandleAsync(ReceivedEvent received, CancellationToken cancellationToken)
    {
        if (_options.Handler is not { } handler)
        {
            return null;
        }
        try
        {
            // Keep this quick (queue heavy work): OnceHub counts a slow answer as a failure.
            await handler(received, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex)
        {
            // Whatever stopped the handler, the event was not processed: the caller releases the id.
            return ex;
        }
    }

    // Strict JSON (no comments, no trailing commas, nothing after the value), an object, a usable id and a
    // non-empty string type. The payload is parsed once into memory of its own (not pooled), so the handler
    // may keep it after it returns.
    private static bool TryReadEnvelope(ReadOnlyMemory<byte> body, out JsonElement payload, out string id, out string type, out string reason)
    {
        payload = default;
        id = null!;
        type = null!;
        if (!Utf8.IsValid(body.Span))
        {
            reason = "body is not valid UTF-8";
            return false;
        }
        JsonElement root;
        try
        {
            var reader = new Utf8JsonReader(body.Span);
            root = JsonElement.ParseValue(ref reader);
            if (reader.Read())
            {
                // Only whitespace may follow the value; Read throws on anything else, so this is unreachable
                // for a final block, and kept so that a change of reader options cannot let a second value in.
                throw new JsonException("more than one JSON value", null, 0, reader.BytesConsumed);
            }
        }
        catch (JsonException ex)
        {
            reason = $"body is not strict JSON (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1})";
            return false;
        }
        string? foundId = null, foundType = null;
        if (root.ValueKind == JsonValueKind.Object)
        {
            foundId = root.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
            foundType = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        }
        reason = root.ValueKind != JsonValueKind.Object ? "the body is not a JSON object"
            : !EventIds.IsUsable(foundId) ? $"no usable event id (expected {EventIds.Rule})"
            : string.IsNullOrWhiteSpace(foundType) || foundType.Length > 200 ? "no usable event type (a non-empty string of at most 200 characters)"
            : "";
        // Keep what is usable for the quarantine entry, but never an id that breaks the rule.
        id = EventIds.IsUsable(foundId) ? foundId! : null!;
        type = reason.Length == 0 || foundType is { Length: <= 200 } ? foundType! : null!;
        if (reason.Length > 0)
        {
            return false;
        }
        payload = root;
        return true;
    }

    private static ReceiveResult Unauthorized(string reason) => new(ReceiveOutcome.Refused, StatusCodes.Status401Unauthorized, reason);
}
