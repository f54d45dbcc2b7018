using OnceHub.Contracts.Delivery;

namespace OnceHub.LocalDelivery;

/// <summary>One webhook's line of a trigger or resend.</summary>
public sealed record WebhookOutcome(
    string WebhookId, string WebhookName, string Url, WebhookOutcomeKind Kind, AttemptResult? Attempt, int? NextAttempt, TimeSpan? NextOffset);

/// <summary>A trigger's or resend's result: the event and one outcome per webhook.</summary>
public sealed record FanOutResult(string EventId, string EventType, IReadOnlyList<WebhookOutcome> Webhooks);
