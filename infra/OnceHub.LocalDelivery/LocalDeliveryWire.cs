using System.Globalization;
using System.Text.Json.Serialization;

namespace OnceHub.LocalDelivery;

/// <summary>
/// The JSON of the emulator's local-delivery routes (outside <c>/v2</c>, which returns no secrets on reads, so
/// there the emulator signs and delivers). Also what the CLI prints from, whichever side delivered.
/// </summary>
public sealed class TriggerRequestJson
{
    /// <summary>The event type to trigger, e.g. <c>booking.scheduled</c>.</summary>
    public string? Event { get; set; }

    /// <summary><c>PATH=VALUE</c> overrides, applied in order.</summary>
    public List<string>? Set { get; set; }
}

public sealed class FanOutJson
{
    public string EventId { get; set; } = "";

    public string Type { get; set; } = "";

    public List<WebhookOutcomeJson> Webhooks { get; set; } = [];

    public static FanOutJson From(FanOutResult result) => new()
    {
        EventId = result.EventId,
        Type = result.EventType,
        Webhooks = [.. result.Webhooks.Select(w => new WebhookOutcomeJson
        {
            Id = w.WebhookId,
            Name = w.WebhookName,
            Url = w.Url,
            Outcome = w.Kind,
            Result = w.Attempt?.Describe(),
            Status = w.Attempt?.StatusCode,
            LatencyMs = w.Attempt is { } a ? Math.Round(a.Elapsed.TotalMilliseconds, 1) : null,
            NextAttempt = w.NextAttempt,
            NextOffsetSeconds = w.NextOffset is { } o ? (long)o.TotalSeconds : null,
        })],
    };

    /// <summary>One human line per webhook, the same for the local account and the emulator.</summary>
    public IEnumerable<string> Lines() => Webhooks.Select(w => w.Outcome switch
    {
        WebhookOutcomeKind.Delivered => $"{w.Id}  {w.Name}  attempt 1: {w.Result} accepted in {w.LatencyMs?.ToString("0.#", CultureInfo.InvariantCulture)} ms",
        WebhookOutcomeKind.RetryScheduled => $"{w.Id}  {w.Name}  attempt 1: {w.Result}; attempt {w.NextAttempt} due at +{w.NextOffsetSeconds} s on the schedule",
        WebhookOutcomeKind.SkippedDisabled => $"{w.Id}  {w.Name}  not sent: the webhook is disabled (local state; re-create it or 'webhooks enable {w.Id}')",
        WebhookOutcomeKind.Dropped => $"{w.Id}  {w.Name}  not sent: the webhook left the account",
        _ => $"{w.Id}  {w.Name}  interrupted before attempt 1 finished; it stays pending",
    });
}

public sealed class WebhookOutcomeJson
{
    public string Id { get; set; } = "";

    public string Name { get; set; } = "";

    public string Url { get; set; } = "";

    public WebhookOutcomeKind Outcome { get; set; }

    /// <summary>Attempt 1's result: a status code, "timeout" or "connection failed: ...".</summary>
    public string? Result { get; set; }

    public int? Status { get; set; }

    public double? LatencyMs { get; set; }

    public int? NextAttempt { get; set; }

    public long? NextOffsetSeconds { get; set; }
}

/// <summary>An event's deliveries, for <c>trigger --follow</c> against the emulator.</summary>
public sealed class EventStateJson
{
    public string EventId { get; set; } = "";

    public int Pending { get; set; }

    public List<DeliveryStateJson> Deliveries { get; set; } = [];

    public static EventStateJson From(string eventId, IReadOnlyList<DeliveryState> deliveries) => new()
    {
        EventId = eventId,
        Pending = deliveries.Count(d => d.Status == DeliveryStatus.Pending),
        Deliveries = [.. deliveries.Select(d => new DeliveryStateJson
        {
            WebhookId = d.WebhookId,
            Status = d.Status,
            Attempts = d.Attempts,
            EndReason = d.EndReason,
        })],
    };
}

public sealed class DeliveryStateJson
{
    public string WebhookId { get; set; } = "";

    public DeliveryStatus Status { get; set; }

    public int Attempts { get; set; }

    public string? EndReason { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TriggerRequestJson))]
[JsonSerializable(typeof(FanOutJson))]
[JsonSerializable(typeof(EventStateJson))]
public sealed partial class LocalDeliveryJsonContext : JsonSerializerContext;

/// <summary>The emulator's local-delivery paths, outside the API's <c>/v2</c>.</summary>
public static class LocalDeliveryRoutes
{
    /// <summary>POST: trigger (body <see cref="TriggerRequestJson"/>); GET <c>/{eventId}</c>: the event's deliveries.</summary>
    public const string Events = "/local/events";
}
