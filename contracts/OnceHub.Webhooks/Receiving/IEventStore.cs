namespace OnceHub.Webhooks;

/// <summary>What the store says when a delivery of an event id arrives.</summary>
public enum BeginOutcome
{
    /// <summary>This delivery owns the id now (an in-flight mark with a lease is set): process it.</summary>
    Started,
    /// <summary>The id was processed, ignored or quarantined before: acknowledge without processing.</summary>
    AlreadyDone,
    /// <summary>Another delivery of the id is being processed and its lease has not run out.</summary>
    InFlight,
}

/// <summary>How an event id was settled.</summary>
public enum SettledAs
{
    /// <summary>Handed to the handler, which succeeded.</summary>
    Processed,
    /// <summary>Authentic, but of a type the receiver does not know: acknowledged, not handled.</summary>
    Ignored,
    /// <summary>Stored in quarantine (unparseable, no usable id or type, or failed the handler too often).</summary>
    Quarantined,
    /// <summary>
    /// Stale: an event about the same object with a later <c>last_updated_time</c> was processed before, and the
    /// receiver skips such events (<see cref="WebhookPipelineOptions.SkipStaleEvents"/>): acknowledged, not handled.
    /// </summary>
    Skipped,
}

/// <summary>An authentic delivery set aside because the receiver could not process it.</summary>
/// <param name="Id">Quarantine entry number.</param>
/// <param name="EventId">The event id, when the body had a usable one.</param>
/// <param name="EventType">The event type, when the body had one.</param>
/// <param name="Reason">Why it was set aside.</param>
/// <param name="ReceivedAt">When it was set aside.</param>
/// <param name="Body">The body exactly as received.</param>
/// <param name="ReplayedAt">When a replay got it processed; null while it waits.</param>
public sealed record QuarantinedEvent(long Id, string? EventId, string? EventType, string Reason, DateTimeOffset ReceivedAt,
    byte[] Body, DateTimeOffset? ReplayedAt);

/// <summary>
/// The receiver's memory of event ids: which are settled (processed, ignored, quarantined), which are being
/// processed right now (an in-flight mark that expires after a lease, so a crash cannot leave an id stuck),
/// how often the handler failed on each, and the quarantine. Implementations must make
/// <see cref="TryBeginAsync"/> atomic: two deliveries of one id never both get <see cref="BeginOutcome.Started"/>
/// while a lease runs. Every method is asynchronous so that a durable store can wait for its disk (and
/// group the writes of concurrent deliveries) without holding a thread. A completed task means the change
/// is committed: visible to every later call and to other processes sharing the store, and, in a durable
/// store, kept if the process is killed the moment after. The endpoint answers OnceHub only after that, so
/// an acknowledged event is never handled again while the store remembers its id.
/// </summary>
public interface IEventStore : IDisposable
{
    /// <summary>Claims <paramref name="eventId"/> for processing until <paramref name="leaseUntil"/>.</summary>
    ValueTask<BeginOutcome> TryBeginAsync(string eventId, string eventType, DateTimeOffset now, DateTimeOffset leaseUntil);

    /// <summary>Settles the id and clears its in-flight mark.</summary>
    ValueTask SettleAsync(string eventId, string eventType, SettledAs how, DateTimeOffset now);

    /// <summary>
    /// Settles the id as above and, in the same commit, keeps <paramref name="update"/>'s time as its object's
    /// newest unless a later one is kept already: concurrent settles of one object, on any replica, leave the
    /// latest time whatever order they commit in. A store that does not override this keeps no times, so no
    /// event is ever stale with it.
    /// </summary>
    ValueTask SettleAsync(string eventId, string eventType, SettledAs how, DateTimeOffset now, ObjectUpdate? update) =>
        SettleAsync(eventId, eventType, how, now);

    /// <summary>
    /// The newest <c>last_updated_time</c> kept for <paramref name="objectId"/> by a settle, or null when none is
    /// (never seen, or forgotten by <see cref="PurgeSettledAsync"/>).
    /// </summary>
    ValueTask<DateTimeOffset?> GetLastUpdatedTimeAsync(string objectId) => ValueTask.FromResult<DateTimeOffset?>(null);

    /// <summary>
    /// Clears the in-flight mark after the handler did not finish and returns the id's failure count so far;
    /// <paramref name="counts"/> false (the sender hung up) releases the id without counting a failure. An id
    /// settled already (by a handler that settled it in its own transaction before failing) stays settled, and 0
    /// is returned, as for an id never seen.
    /// </summary>
    ValueTask<int> RecordFailureAsync(string eventId, DateTimeOffset now, bool counts = true);

    /// <summary>
    /// Stores a body in quarantine and returns the entry number. <paramref name="body"/> is the caller's buffer
    /// (the endpoint reuses it once the delivery is answered): a store copies what it keeps.
    /// </summary>
    ValueTask<long> QuarantineAsync(string? eventId, string? eventType, string reason, ReadOnlyMemory<byte> body, DateTimeOffset now);

    /// <summary>Quarantine entries, oldest first; replayed ones only when asked.</summary>
    ValueTask<IReadOnlyList<QuarantinedEvent>> ListQuarantineAsync(bool includeReplayed = false);

    ValueTask<QuarantinedEvent?> GetQuarantinedAsync(long id);

    ValueTask MarkReplayedAsync(long id, DateTimeOffset now);

    /// <summary>Removes a quarantine entry, replayed or not; false when there is none with that number.</summary>
    ValueTask<bool> DeleteQuarantinedAsync(long id);

    /// <summary>
    /// Forgets at most <paramref name="limit"/> entries, oldest first: settled ids settled before
    /// <paramref name="settledBefore"/>, then object times last settled before it; returns how many it forgot.
    /// Ids being processed, failed ids and the quarantine are kept. Small limits keep each call short beside the
    /// deliveries sharing the store. Every older event of an object was sent before its newest time was settled,
    /// so a retention longer than OnceHub's retries keeps every late event recognised, as it does redeliveries.
    /// </summary>
    ValueTask<int> PurgeSettledAsync(DateTimeOffset settledBefore, int limit);

    /// <summary>How the id was settled, or null when it was not (yet).</summary>
    ValueTask<SettledAs?> GetSettledAsync(string eventId);
}
