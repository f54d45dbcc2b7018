namespace OnceHub.Webhooks;

/// <summary>
/// <see cref="IEventStore"/> in process memory, for tests and throwaway receivers: the same rules as
/// <see cref="SqliteEventStore"/> (lease, failure count, quarantine), and everything is forgotten when the
/// process ends, so a redelivery after a restart is handled again.
/// </summary>
public sealed class InMemoryEventStore : IEventStore
{
    private enum State { InFlight, Failed, Settled }

    private sealed record Entry(string Type, State State, DateTimeOffset? LeaseUntil, int Failures, SettledAs? How, DateTimeOffset UpdatedAt);

    private readonly Dictionary<string, Entry> _events = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset LastUpdatedTime, DateTimeOffset SettledAt)> _objects = new(StringComparer.Ordinal);
    // Keyed by entry number, which is never reused after a delete (as SQLite's AUTOINCREMENT).
    private readonly SortedDictionary<long, QuarantinedEvent> _quarantine = [];
    private long _lastEntry;
    // One lock for both maps: claims must be atomic, and the store is far from any hot contention point.
    private readonly Lock _gate = new();

    public ValueTask<BeginOutcome> TryBeginAsync(string eventId, string eventType, DateTimeOffset now, DateTimeOffset leaseUntil)
    {
        lock (_gate)
        {
            _events.TryGetValue(eventId, out var entry);
            var outcome = entry switch
            {
                null or { State: State.Failed } => BeginOutcome.Started,
                { State: State.InFlight, LeaseUntil: { } until } when until > now => BeginOutcome.InFlight,
                // An expired lease: the delivery that held it crashed or hung; this one takes over.
                { State: State.InFlight } => BeginOutcome.Started,
                _ => BeginOutcome.AlreadyDone,
            };
            if (outcome == BeginOutcome.Started)
            {
                _events[eventId] = new Entry(entry?.Type ?? eventType, State.InFlight, leaseUntil, entry?.Failures ?? 0, null, now);
            }
            return ValueTask.FromResult(outcome);
        }
    }

    public ValueTask SettleAsync(string eventId, string eventType, SettledAs how, DateTimeOffset now) =>
        SettleAsync(eventId, eventType, how, now, update: null);

    public ValueTask SettleAsync(string eventId, string eventType, SettledAs how, DateTimeOffset now, ObjectUpdate? update)
    {
        lock (_gate)
        {
            _events.TryGetValue(eventId, out var entry);
            _events[eventId] = new Entry(entry?.Type ?? eventType, State.Settled, null, entry?.Failures ?? 0, how, now);
            if (update is not null)
            {
                var newest = _objects.TryGetValue(update.ObjectId, out var kept) && kept.LastUpdatedTime > update.LastUpdatedTime
                    ? kept.LastUpdatedTime : update.LastUpdatedTime;
                _objects[update.ObjectId] = (newest, kept.SettledAt > now ? kept.SettledAt : now);
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<DateTimeOffset?> GetLastUpdatedTimeAsync(string objectId)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<DateTimeOffset?>(_objects.TryGetValue(objectId, out var kept) ? kept.LastUpdatedTime : null);
        }
    }

    public ValueTask<int> RecordFailureAsync(string eventId, DateTimeOffset now, bool counts = true)
    {
        lock (_gate)
        {
            if (!_events.TryGetValue(eventId, out var entry) || entry.State == State.Settled)
            {
                return ValueTask.FromResult(0);
            }
            var failures = entry.Failures + (counts ? 1 : 0);
            _events[eventId] = entry with { State = State.Failed, LeaseUntil = null, Failures = failures, UpdatedAt = now };
            return ValueTask.FromResult(failures);
        }
    }

    public ValueTask<long> QuarantineAsync(string? eventId, string? eventType, string reason, ReadOnlyMemory<byte> body, DateTimeOffset now)
    {
        lock (_gate)
        {
            var id = ++_lastEntry;
            _quarantine[id] = new QuarantinedEvent(id, eventId, eventType, reason, now, body.ToArray(), null);
            return ValueTask.FromResult(id);
        }
    }

    public ValueTask<IReadOnlyList<QuarantinedEvent>> ListQuarantineAsync(bool includeReplayed = false)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<QuarantinedEvent>>([.. _quarantine.Values.Where(q => includeReplayed || q.ReplayedAt is null)]);
        }
    }

    public ValueTask<QuarantinedEvent?> GetQuarantinedAsync(long id)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_quarantine.GetValueOrDefault(id));
        }
    }

    public ValueTask MarkReplayedAsync(long id, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_quarantine.TryGetValue(id, out var entry))
            {
                _quarantine[id] = entry with { ReplayedAt = now };
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> DeleteQuarantinedAsync(long id)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_quarantine.Remove(id));
        }
    }

    public ValueTask<int> PurgeSettledAsync(DateTimeOffset settledBefore, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        lock (_gate)
        {
            var old = _events.Where(e => e.Value.State == State.Settled && e.Value.UpdatedAt < settledBefore)
                .OrderBy(e => e.Value.UpdatedAt).Take(limit).Select(e => e.Key).ToList();
            foreach (var id in old)
            {
                _events.Remove(id);
            }
            var oldObjects = _objects.Where(o => o.Value.SettledAt < settledBefore)
                .OrderBy(o => o.Value.SettledAt).Take(limit - old.Count).Select(o => o.Key).ToList();
            foreach (var id in oldObjects)
            {
                _objects.Remove(id);
            }
            return ValueTask.FromResult(old.Count + oldObjects.Count);
        }
    }

    public ValueTask<SettledAs?> GetSettledAsync(string eventId)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_events.TryGetValue(eventId, out var entry) ? entry.How : null);
        }
    }

    public void Dispose()
    {
    }
}
