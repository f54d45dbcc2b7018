using OnceHub.Contracts.Delivery;

namespace OnceHub.LocalDelivery;

/// <summary>
/// A delivery claimed for one attempt, with what the attempt needs. A fan-out's delivery has no row yet
/// (<paramref name="Id"/> 0): it is written with its attempt's record, under <paramref name="FanOutId"/>.
/// </summary>
internal sealed record ClaimedDelivery(
    long Id, string EventId, string EventType, string WebhookId, DateTimeOffset FirstAt, int NextAttempt, ReadOnlyMemory<byte> Body,
    long? FanOutId = null);

/// <summary>One row of the delivery log: an attempt, or a delivery dropped without an attempt.</summary>
/// <param name="DeliveryId">The delivery (one event to one webhook) the row belongs to.</param>
/// <param name="EventId">The event's id, shared by every webhook it was delivered to.</param>
/// <param name="EventType">The event's type.</param>
/// <param name="WebhookId">The webhook it was sent to.</param>
/// <param name="Attempt">Attempt number on the schedule (1..15); null for a dropped delivery.</param>
/// <param name="ScheduledOffset">The attempt's offset from attempt 1 on the schedule (schedule time).</param>
/// <param name="SentAt">When the attempt started, on the delivering process's clock.</param>
/// <param name="Outcome">accepted, refused, timeout, connection failed, or dropped (<see cref="LoggedOutcome"/>).</param>
/// <param name="HttpStatus">The receiver's status code, when it answered.</param>
/// <param name="Latency">Real time the attempt took.</param>
/// <param name="Error">Why an attempt got no answer (timeout, connection), or why a delivery was dropped.</param>
/// <param name="Answer">The first bytes of the receiver's answer (up to 200, one line), when it sent a body.</param>
public sealed record DeliveryLogRow(
    long DeliveryId,
    string EventId,
    string EventType,
    string WebhookId,
    int? Attempt,
    TimeSpan? ScheduledOffset,
    DateTimeOffset SentAt,
    string Outcome,
    int? HttpStatus,
    TimeSpan? Latency,
    string? Error,
    string? Answer);

/// <summary>A delivery's current state.</summary>
public sealed record DeliveryState(
    long Id, string EventId, string EventType, string WebhookId, DeliveryStatus Status, int Attempts, int NextAttempt,
    DateTimeOffset NextDue, string? EndReason);

/// <summary>A webhook disabled locally after its retry window ended without success.</summary>
public sealed record DisabledWebhook(string WebhookId, DateTimeOffset DisabledAt, string Reason);

/// <summary>
/// One attempt's outcome, to be logged and applied to its delivery; for a fan-out's delivery, also what became of
/// it without an attempt (<see cref="AttemptVerdict.Dropped"/>, <see cref="AttemptVerdict.NotSent"/>).
/// </summary>
internal sealed record AttemptRecord(ClaimedDelivery Delivery, int Attempt, DateTimeOffset SentAt, AttemptResult? Result,
    AttemptVerdict Verdict, DateTimeOffset NextDue, string? DropReason = null);

/// <summary>What one attempt leads to.</summary>
internal enum AttemptVerdict
{
    Delivered,
    Retry,
    /// <summary>The last attempt of the window failed: the delivery fails and its webhook is disabled.</summary>
    WindowEnded,
    /// <summary>Not sent: the webhook is gone, disabled or its url unusable (a fan-out's delivery only).</summary>
    Dropped,
    /// <summary>Not sent: the process is stopping; attempt 1 stays due (a fan-out's delivery only).</summary>
    NotSent,
}

/// <summary>The local delivery cannot proceed (store unreadable, account missing); the message says what and where.</summary>
public sealed class LocalDeliveryException(string message, Exception? inner = null) : Exception(message, inner);
