using Microsoft.Data.Sqlite;
using OnceHub.Contracts.Delivery;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery;

/// <summary>
/// One attempt's outcome, to be logged and applied to its delivery; for a fan-out's delivery, also what became of
/// it without an attempt (<see cref="AttemptVerdict.Dropped"/>, <see cref="AttemptVerdict.NotSent"/>).
/// </summary>
internal sealed record AttemptRecord(ClaimedDelivery Delivery, int Slot, DateTimeOffset SentAt, AttemptResult? Result,
    AttemptVerdict Verdict, DateTimeOffset NextDue, string? DropReason = null);

/// <summary>What one attempt leads to.</summary>
internal enum AttemptVerdict
{
    Delivered,
    Retry,
    /// <summary>The last attempt of the window failed: the delivery fails and its webhook is disabled.</summary>
    WindowEnded,
    /// <summary>Not sent: the webhook is gone or its url unusable (a fan-out's delivery only).</summary>
    Dropped,
    /// <summary>Not sent: the process is stopping; attempt 1 stays due (a fan-out's delivery only).</summary>
    NotSent,
}

/// <summary>
/// The local account's delivery queue and log: <c>deliveries.db</c> (SQLite, WAL) in the account folder, beside
/// the account's JSON file, which keeps only what the API returns. Every state change is atomic (a transaction,
/// or a savepoint within the one shared by the writes queued together), so a process killed at any point leaves
/// each delivery either before or after an attempt; a delivery whose
/// attempt was in flight is retried (at-least-once; receivers de-duplicate by event id). Several processes may
/// share the folder: a delivery is leased (real time) to the process sending its attempt. Times are stored as
/// Unix milliseconds on the delivering clock (see <see cref="DeliveryTime"/>).
/// </summary>
/// <remarks>
/// A fan-out (attempt 1 of one event to its webhooks) is written twice: before any send, one row that names the
/// event and its webhooks, leased to the sender; after the answers, one delivery row per webhook in its state
/// after attempt 1, with the attempt's log (see below), and the fan-out row is deleted. A fan-out whose lease ran out
/// (its sender was killed) becomes one pending delivery per webhook it had not recorded, with attempt 1 due:
/// those attempts are sent again, which at-least-once allows. One row before the sends instead of one per
/// webhook, and no rewrite of every row after them, is what lets a fan-out's sends start early.
/// <para>
/// A fan-out's attempt 1 that got a 2xx (the usual case) is logged on its delivery row (<c>first_*</c> columns)
/// instead of a row of its own: one row per delivery instead of two. <see cref="Log"/> reads both.
/// </para>
/// </remarks>
public sealed class DeliveryStore : IDisposable
{
    public const string FileName = "deliveries.db";
    private const int SchemaVersion = 4;
    private const string Pending = "pending";
    // Webhook ids never hold a line break (the account's rules), so a fan-out's list is one text column.
    private const char WebhookSeparator = '\n';
    // How long a fan-out's view of the disabled webhooks may be reused: a webhook disabled by another process
    // is seen within this; one this store disabled or enabled is seen at once.
    private static readonly long DisabledCacheTicks = System.Diagnostics.Stopwatch.Frequency / 10;
    // How long any statement waits for another process's lock before it fails.
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(60);

    private readonly SqliteConnection _connection;
    // One connection per store, one statement at a time: SQLite serialises writers anyway.
    private readonly Lock _gate = new();
    // Prepared statements by SQL text, reused under the gate: parsing and planning the same statements for every
    // attempt was a measurable share of a fan-out's CPU time. The SQL texts are constants, so the cache is bounded.
    private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);
    // The rows written for every delivery, bound by position (see RawStatement).
    private readonly RawStatement _insertEvent;
    private readonly RawStatement _insertFanOut;
    private readonly RawStatement _insertDelivery;
    private readonly RawStatement _insertLog;
    // The fan-out's writes run on a thread of their own and are awaited: SQLite work done under the gate on pool
    // threads blocked them while the sends' continuations waited for a thread (the process sat at 58% of its cores).
    // Two queues: a fan-out's opening row goes before the attempt records queued, since its sends wait for it
    // while nothing waits for the records.
    private readonly object _queueGate = new();
    private readonly Queue<Write> _urgent = new();
    private readonly Queue<Write> _normal = new();
    private bool _closed;
    private int _unfinished;
    private const int MaxWritesPerCommit = 32;
    private readonly Thread _writer;
    private DisabledRead? _disabledCache;
    private int _disabledEpoch;
    // Set by the writer thread when its transaction disables a webhook; the epoch moves once that is committed.
    private bool _disabledChanged;
    // A second connection, off the writer's path, for every fan-out's read of the disabled webhooks: queued
    // behind the writes, it waited for them.
    private readonly SqliteConnection _side;
    private readonly Lock _sideGate = new();
    private readonly SqliteCommand _readDisabled;
    // WAL checkpoints off the writer's path too: in it, their fsync stalled the writer every thousandth page.
    private readonly WalCheckpoints _checkpoints;
    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromSeconds(1);

    /// <exception cref="LocalDeliveryException">The store cannot be opened; the message names the file.</exception>
    public DeliveryStore(string accountDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accountDirectory);
        Path = System.IO.Path.Combine(System.IO.Path.GetFullPath(accountDirectory), FileName);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            CreateOwnerOnly(Path);
            _connection = Open(Path);
            Migrate();
            // Per connection, unlike the journal mode: NORMAL sync keeps every committed transaction across a killed
            // process (only a power loss could take the last ones).
            ExecuteOnce(null, "PRAGMA synchronous = NORMAL");
            ExecuteOnce(null, "PRAGMA wal_autocheckpoint = 0");
            _insertEvent = new RawStatement(_connection, "INSERT OR IGNORE INTO events (id, type, body, created_at) VALUES (?1, ?2, ?3, ?4)");
            _insertFanOut = new RawStatement(_connection,
                "INSERT INTO fanouts (event_id, webhooks, first_at, lease_owner, lease_until) VALUES (?1, ?2, ?3, ?4, ?5)");
            _insertDelivery = new RawStatement(_connection, """
                INSERT INTO deliveries (event_id, webhook_id, status, first_at, next_slot, next_due, attempts, ended_at, end_reason, fanout_id,
                                        first_sent_at, first_status, first_latency_ms, first_answer)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
                """);
            _insertLog = new RawStatement(_connection, """
                INSERT INTO attempts (delivery_id, event_id, event_type, webhook_id, attempt, scheduled_offset_ms, sent_at, outcome,
                                      http_status, latency_ms, error, answer)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                """);
            _side = Open(Path);
            _readDisabled = _side.CreateCommand();
            _readDisabled.CommandText = DisabledQuery;
            _readDisabled.Prepare();
            _checkpoints = new WalCheckpoints(Path, CheckpointEvery);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            _insertEvent?.Dispose();
            _insertFanOut?.Dispose();
            _insertDelivery?.Dispose();
            _insertLog?.Dispose();
            _readDisabled?.Dispose();
            _side?.Dispose();
            _connection?.Dispose();
            throw new LocalDeliveryException($"Cannot open the delivery store '{Path}': {ex.Message}", ex);
        }
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "OnceHub delivery store writer" };
        _writer.Start();
    }

    public string Path { get; }

    /// <summary>
    /// Stores the event (once per id) and a fan-out to <paramref name="webhookIds"/> leased to the caller for
    /// attempt 1, in one transaction on the store's writer thread, ahead of the attempt records queued.
    /// Returns one delivery per webhook, to be recorded with <see cref="RecordAttemptsAsync"/> and closed there.
    /// </summary>
    internal async Task<List<ClaimedDelivery>> OpenFanOutAsync(string eventId, string eventType, byte[] body, DateTimeOffset createdAt,
        IReadOnlyList<string> webhookIds, DateTimeOffset firstAt, string leaseOwner, DateTimeOffset leaseUntil)
    {
        var fanOut = await OnWriter(tx => OpenFanOut(tx, eventId, eventType, body, createdAt, webhookIds, firstAt, leaseOwner, leaseUntil),
            urgent: true).ConfigureAwait(false);
        var first = FromMs(Ms(firstAt));
        var claimed = new List<ClaimedDelivery>(webhookIds.Count);
        foreach (var webhookId in webhookIds)
        {
            claimed.Add(new ClaimedDelivery(0, eventId, eventType, webhookId, first, 1, body, fanOut));
        }
        return claimed;
    }

    /// <summary>
    /// Moves the leases of open fan-outs (id, owner) to <paramref name="leaseUntil"/> while their sender is still
    /// sending: a fan-out to many slow receivers outlasts one lease, and another deliverer would otherwise send its
    /// attempts 1 again.
    /// </summary>
    internal Task RenewFanOutsAsync(IReadOnlyList<KeyValuePair<long, string>> fanOuts, DateTimeOffset leaseUntil) =>
        OnWriter(tx =>
        {
            foreach (var (id, owner) in fanOuts)
            {
                Execute(tx, "UPDATE fanouts SET lease_until = $lease WHERE id = $id AND lease_owner = $owner",
                    ("$lease", Ms(leaseUntil)), ("$id", id), ("$owner", owner));
            }
            return 0;
        }, urgent: true);

    /// <summary>
    /// Logs attempts and moves their deliveries on, in one transaction on the store's writer thread. When the
    /// window ended, the delivery fails, its webhook is disabled and the webhook's other pending deliveries are
    /// dropped (each logged). A fan-out's delivery gets its row here, in its state after attempt 1;
    /// <paramref name="closeFanOut"/> ends that fan-out (every one of its deliveries is recorded) when
    /// <paramref name="mayClose"/>, asked on the writer thread just before, agrees.
    /// Returns how many other deliveries were dropped. A delivery that stopped being pending meanwhile (dropped by
    /// another process) only gets its log row.
    /// </summary>
    /// <remarks>
    /// Several attempts go in one transaction (a fan-out's attempt 1 to every webhook): one commit instead of one
    /// per webhook. A kill before the commit re-sends those attempts, which at-least-once allows.
    /// </remarks>
    internal Task<int> RecordAttemptsAsync(IReadOnlyList<AttemptRecord> records, long? closeFanOut = null, Func<bool>? mayClose = null) =>
        OnWriter(tx => RecordAttempts(tx, records, closeFanOut is { } id && (mayClose?.Invoke() ?? true) ? id : null), urgent: false);

    /// <summary>
    /// <see cref="Disabled"/> read on the second connection (it neither waits for the writes nor delays them), or
    /// reused for up to 100 ms when this store disabled or enabled nothing since.
    /// </summary>
    internal IReadOnlyDictionary<string, DisabledWebhook> DisabledNow()
    {
        var epoch = Volatile.Read(ref _disabledEpoch);
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (Volatile.Read(ref _disabledCache) is { } cached && cached.Epoch == epoch && now - cached.ReadAt < DisabledCacheTicks)
        {
            return cached.Webhooks;
        }
        var read = ReadDisabledOnSide();
        Volatile.Write(ref _disabledCache, new DisabledRead(read, now, epoch));
        return read;
    }

    private Dictionary<string, DisabledWebhook> ReadDisabledOnSide()
    {
        lock (_sideGate)
        {
            return ReadDisabled(_readDisabled);
        }
    }

    /// <summary>One read of the disabled webhooks: when (Stopwatch ticks), and the epoch it saw.</summary>
    private sealed record DisabledRead(Dictionary<string, DisabledWebhook> Webhooks, long ReadAt, int Epoch);

    private Task<T> OnWriter<T>(Func<SqliteTransaction, T> work, bool urgent)
    {
        var write = new Write<T>(work);
        lock (_queueGate)
        {
            if (_closed)
            {
                throw new ObjectDisposedException(nameof(DeliveryStore));
            }
            (urgent ? _urgent : _normal).Enqueue(write);
            _unfinished++;
            Monitor.Pulse(_queueGate);
        }
        return write.Task;
    }

    /// <summary>
    /// Waits until every write queued so far is committed (or failed), so a read sees what this process wrote:
    /// a fan-out's records are committed after its trigger returned.
    /// </summary>
    private void CatchUp()
    {
        if (Volatile.Read(ref _unfinished) > 0 && Thread.CurrentThread != _writer)
        {
            OnWriter(static _ => 0, urgent: false).Wait();
        }
    }

    /// <summary>Takes the writes queued, urgent ones first, up to <see cref="MaxWritesPerCommit"/>; false once closed and drained.</summary>
    private bool NextWrites(List<Write> batch)
    {
        batch.Clear();
        lock (_queueGate)
        {
            while (_urgent.Count == 0 && _normal.Count == 0)
            {
                if (_closed)
                {
                    return false;
                }
                Monitor.Wait(_queueGate);
            }
            while (batch.Count < MaxWritesPerCommit && (_urgent.TryDequeue(out var write) || _normal.TryDequeue(out write)))
            {
                batch.Add(write);
            }
            return true;
        }
    }

    private abstract class Write
    {
        public abstract void Run(SqliteTransaction tx);

        public abstract void Complete();

        public abstract void Fail(Exception error);
    }

    private sealed class Write<T>(Func<SqliteTransaction, T> work) : Write
    {
        // Continuations go back to the pool, so the writer thread moves straight on to the next write.
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _done.Task;

        public override void Run(SqliteTransaction tx) => _result = work(tx);

        public override void Complete() => _done.TrySetResult(_result);

        public override void Fail(Exception error) => _done.TrySetException(error);
    }

    // The writes queued meanwhile share one transaction (one commit, one WAL append for the pages they share),
    // each in a savepoint of its own so that one failing write fails alone.
    private void WriteLoop()
    {
        var batch = new List<Write>(MaxWritesPerCommit);
        var failed = new bool[MaxWritesPerCommit];
        while (NextWrites(batch))
        {
            Exception? commitFailure = null;
            lock (_gate)
            {
                _checkpoints.FinishOnWriter(_connection);
                try
                {
                    using var tx = _connection.BeginTransaction();
                    for (var i = 0; i < batch.Count; i++)
                    {
                        failed[i] = false;
                        tx.Save("write");
                        try
                        {
                            batch[i].Run(tx);
                            tx.Release("write");
                        }
                        catch (Exception ex)
                        {
                            tx.Rollback("write");
                            tx.Release("write");
                            // Failed at once (its changes are undone): a later write of this batch may ask.
                            failed[i] = true;
                            batch[i].Fail(ex);
                        }
                    }
                    tx.Commit();
                }
                catch (Exception ex)
                {
                    // Whatever failed reaches the callers that await the writes; the writer thread goes on.
                    commitFailure = ex;
                }
                if (_disabledChanged)
                {
                    _disabledChanged = false;
                    Interlocked.Increment(ref _disabledEpoch);
                }
            }
            for (var i = 0; i < batch.Count; i++)
            {
                Interlocked.Decrement(ref _unfinished);
                if (failed[i])
                {
                    continue;
                }
                if (commitFailure is null)
                {
                    batch[i].Complete();
                }
                else
                {
                    batch[i].Fail(commitFailure);
                }
            }
        }
    }

    private long OpenFanOut(SqliteTransaction tx, string eventId, string eventType, byte[] body, DateTimeOffset createdAt,
        IReadOnlyList<string> webhookIds, DateTimeOffset firstAt, string leaseOwner, DateTimeOffset leaseUntil)
    {
        foreach (var id in webhookIds)
        {
            if (id.Contains(WebhookSeparator, StringComparison.Ordinal))
            {
                throw new LocalDeliveryException($"The webhook id '{id.ReplaceLineEndings(" ")}' holds a line break; the account is damaged.");
            }
        }
        _insertEvent.Bind(1, eventId).Bind(2, eventType).Bind(3, body).Bind(4, Ms(createdAt)).Insert();
        if (webhookIds.Count == 0)
        {
            return 0;
        }
        return _insertFanOut.Bind(1, eventId).Bind(2, string.Join(WebhookSeparator, webhookIds)).Bind(3, Ms(firstAt))
            .Bind(4, leaseOwner).Bind(5, Ms(leaseUntil)).Insert();
    }

    /// <summary>The stored event, or null when this account never delivered that id.</summary>
    public (string Type, byte[] Body)? FindEvent(string eventId)
    {
        CatchUp();
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT type, body FROM events WHERE id = $id", ("$id", eventId));
            using var reader = cmd.ExecuteReader();
            return reader.Read() ? (reader.GetString(0), (byte[])reader["body"]) : null;
        }
    }

    /// <summary>The webhooks an event was delivered to, in delivery order.</summary>
    public IReadOnlyList<string> WebhooksOf(string eventId)
    {
        CatchUp();
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT webhook_id FROM deliveries WHERE event_id = $id GROUP BY webhook_id ORDER BY MIN(id)", ("$id", eventId));
            return ReadAll(cmd, r => r.GetString(0));
        }
    }

    /// <summary>
    /// Leases up to <paramref name="max"/> pending deliveries due at <paramref name="now"/> whose webhook is not
    /// disabled and which no live process holds (a lease past <paramref name="realNow"/> is dead).
    /// </summary>
    internal IReadOnlyList<ClaimedDelivery> ClaimDue(DateTimeOffset now, DateTimeOffset realNow, DateTimeOffset leaseUntil, int max,
        string? eventId, string leaseOwner)
    {
        CatchUp();
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            RecoverFanOuts(tx, realNow, eventId);
            Execute(tx, """
                UPDATE deliveries SET lease_owner = $owner, lease_until = $lease
                WHERE id IN (
                    SELECT id FROM deliveries
                    WHERE status = 'pending' AND next_due <= $now AND (lease_until IS NULL OR lease_until < $real)
                      AND ($event IS NULL OR event_id = $event)
                      AND webhook_id NOT IN (SELECT webhook_id FROM disabled_webhooks)
                    ORDER BY next_due LIMIT $max)
                """, ("$owner", leaseOwner), ("$lease", Ms(leaseUntil)), ("$now", Ms(now)), ("$real", Ms(realNow)),
                ("$event", eventId), ("$max", max));
            using var select = Command(tx, """
                SELECT d.id, d.event_id, e.type, d.webhook_id, d.first_at, d.next_slot, e.body
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE d.status = 'pending' AND d.lease_owner = $owner AND d.lease_until = $lease
                ORDER BY d.next_due
                """, ("$owner", leaseOwner), ("$lease", Ms(leaseUntil)));
            var claimed = ReadAll(select, r => new ClaimedDelivery(
                r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), FromMs(r.GetInt64(4)), r.GetInt32(5), (byte[])r["body"]));
            tx.Commit();
            return claimed;
        }
    }

    /// <summary>
    /// The earliest due time among pending deliveries no live process holds (a fan-out whose sender died counts
    /// as due at its attempt 1), or null when there is none.
    /// </summary>
    public DateTimeOffset? NextDue(string? eventId, DateTimeOffset realNow)
    {
        CatchUp();
        lock (_gate)
        {
            using var cmd = Command(null, """
                SELECT MIN(due) FROM (
                    SELECT MIN(next_due) AS due FROM deliveries
                    WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $real) AND ($event IS NULL OR event_id = $event)
                      AND webhook_id NOT IN (SELECT webhook_id FROM disabled_webhooks)
                    UNION ALL
                    SELECT MIN(first_at) FROM fanouts WHERE lease_until < $real AND ($event IS NULL OR event_id = $event))
                """, ("$real", Ms(realNow)), ("$event", eventId));
            return cmd.ExecuteScalar() is long ms ? FromMs(ms) : null;
        }
    }

    /// <summary>Pending deliveries (of one event, or all), counting those of fan-outs whose attempt 1 is not recorded yet.</summary>
    public int PendingCount(string? eventId = null)
    {
        CatchUp();
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND ($event IS NULL OR event_id = $event)",
                ("$event", eventId));
            var pending = Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            return pending + OpenFanOuts(null, eventId, null).Sum(f => f.Unrecorded.Count);
        }
    }

    /// <summary>Open fan-outs (all, or those whose lease ended before <paramref name="leaseEndedBy"/>) with their webhooks not recorded yet.</summary>
    private List<(long Id, string EventId, string EventType, DateTimeOffset FirstAt, List<string> Unrecorded)> OpenFanOuts(SqliteTransaction? tx, string? eventId,
        DateTimeOffset? leaseEndedBy)
    {
        using var open = Command(tx, """
            SELECT f.id, f.event_id, f.webhooks, f.first_at, e.type FROM fanouts f JOIN events e ON e.id = f.event_id
            WHERE ($event IS NULL OR f.event_id = $event) AND ($ended IS NULL OR f.lease_until < $ended)
            ORDER BY f.id
            """, ("$event", eventId), ("$ended", leaseEndedBy is { } at ? Ms(at) : null));
        var fanOuts = ReadAll(open, r => (Id: r.GetInt64(0), EventId: r.GetString(1), Webhooks: r.GetString(2), FirstAt: FromMs(r.GetInt64(3)),
            Type: r.GetString(4)));
        var result = new List<(long, string, string, DateTimeOffset, List<string>)>(fanOuts.Count);
        foreach (var fanOut in fanOuts)
        {
            using var recorded = Command(tx, "SELECT webhook_id FROM deliveries WHERE event_id = $event AND fanout_id = $fanout",
                ("$event", fanOut.EventId), ("$fanout", fanOut.Id));
            var done = ReadAll(recorded, r => r.GetString(0)).ToHashSet(StringComparer.Ordinal);
            var unrecorded = fanOut.Webhooks.Length == 0 ? [] : fanOut.Webhooks.Split(WebhookSeparator).Where(w => !done.Contains(w)).ToList();
            result.Add((fanOut.Id, fanOut.EventId, fanOut.Type, fanOut.FirstAt, unrecorded));
        }
        return result;
    }

    /// <summary>
    /// Fan-outs whose sender's lease ended (it was killed or stopped between its sends and their record): each
    /// webhook not recorded gets a pending delivery with attempt 1 due, counted from the fan-out's attempt 1.
    /// </summary>
    private void RecoverFanOuts(SqliteTransaction tx, DateTimeOffset realNow, string? eventId)
    {
        foreach (var (id, fanOutEvent, _, firstAt, unrecorded) in OpenFanOuts(tx, eventId, realNow))
        {
            foreach (var webhookId in unrecorded)
            {
                Execute(tx, """
                    INSERT INTO deliveries (event_id, webhook_id, status, first_at, next_slot, next_due, attempts, fanout_id)
                    VALUES ($event, $webhook, 'pending', $first, 1, $first, 0, $fanout)
                    """, ("$event", fanOutEvent), ("$webhook", webhookId), ("$first", Ms(firstAt)), ("$fanout", id));
            }
            CloseFanOut(tx, id);
        }
    }

    private void CloseFanOut(SqliteTransaction tx, long fanOutId) => Execute(tx, "DELETE FROM fanouts WHERE id = $id", ("$id", fanOutId));

    private int RecordAttempts(SqliteTransaction tx, IReadOnlyList<AttemptRecord> records, long? closeFanOut)
    {
        var dropped = 0;
        foreach (var record in records)
        {
            dropped += record.Delivery.FanOutId is null ? Record(tx, record) : RecordFanOut(tx, record);
        }
        if (closeFanOut is { } fanOut)
        {
            CloseFanOut(tx, fanOut);
        }
        return dropped;
    }

    private int Record(SqliteTransaction tx, AttemptRecord record)
    {
        var (delivery, slot, sentAt, result, verdict, nextDue, _) = record;
        InsertAttemptLog(delivery.Id, record);
        var (status, reason) = Ending(record);
        Execute(tx, """
            UPDATE deliveries SET status = $status, attempts = attempts + 1, next_slot = $next, next_due = $due,
                lease_owner = NULL, lease_until = NULL, ended_at = $ended, end_reason = $reason
            WHERE id = $id AND status = 'pending'
            """, ("$status", status), ("$next", verdict == AttemptVerdict.Retry ? slot + 1 : slot), ("$due", Ms(nextDue)),
            ("$ended", status == Pending ? null : Ms(sentAt + result!.Elapsed)), ("$reason", reason), ("$id", delivery.Id));
        return verdict == AttemptVerdict.WindowEnded ? Disable(tx, record) : 0;
    }

    /// <summary>A fan-out's delivery: its row, written once in its state after attempt 1 (or without one), and its log row.</summary>
    private int RecordFanOut(SqliteTransaction tx, AttemptRecord record)
    {
        var (delivery, slot, sentAt, result, verdict, nextDue, dropReason) = record;
        var attempted = verdict is not (AttemptVerdict.Dropped or AttemptVerdict.NotSent);
        var (status, reason) = Ending(record);
        // An accepted attempt 1 is logged on the row itself (see the remarks on the class).
        var onRow = verdict == AttemptVerdict.Delivered && slot == 1;
        var id = _insertDelivery.Bind(1, delivery.EventId).Bind(2, delivery.WebhookId).Bind(3, status).Bind(4, Ms(delivery.FirstAt))
            .Bind(5, verdict == AttemptVerdict.Retry ? slot + 1 : slot).Bind(6, Ms(nextDue)).Bind(7, attempted ? 1 : 0)
            .Bind(8, status == Pending ? null : Ms(attempted ? sentAt + result!.Elapsed : sentAt)).Bind(9, reason)
            .Bind(10, delivery.FanOutId).Bind(11, onRow ? Ms(sentAt) : (long?)null).Bind(12, onRow ? (long?)result!.StatusCode : null)
            .Bind(13, onRow ? result!.Elapsed.TotalMilliseconds : (double?)null).Bind(14, onRow ? result!.Body : null).Insert();
        if (onRow)
        {
            return 0;
        }
        if (verdict == AttemptVerdict.Dropped)
        {
            InsertDroppedLog(id, delivery.EventId, delivery.EventType, delivery.WebhookId, sentAt, dropReason);
        }
        else if (attempted)
        {
            InsertAttemptLog(id, record);
        }
        return verdict == AttemptVerdict.WindowEnded ? Disable(tx, record) : 0;
    }

    private static (string Status, string? Reason) Ending(AttemptRecord record) => record.Verdict switch
    {
        AttemptVerdict.Delivered => ("delivered", $"attempt {record.Slot} answered {record.Result!.StatusCode}"),
        AttemptVerdict.WindowEnded => ("failed", $"no 2xx in {record.Slot} attempts; the webhook was disabled"),
        AttemptVerdict.Dropped => ("dropped", record.DropReason),
        _ => (Pending, null),
    };

    private void InsertAttemptLog(long deliveryId, AttemptRecord record)
    {
        var (delivery, slot, sentAt, result, _, _, _) = record;
        InsertLog(deliveryId, delivery.EventId, delivery.EventType, delivery.WebhookId, slot,
            ScheduleCursor.OffsetOf(slot), sentAt, Describe(result!.Outcome), result.StatusCode, result.Elapsed,
            result.Outcome is AttemptOutcome.Accepted or AttemptOutcome.Refused ? null : result.Describe(), result.Body);
    }

    /// <summary>The window ended: the webhook is disabled and its other pending deliveries are dropped.</summary>
    private int Disable(SqliteTransaction tx, AttemptRecord record)
    {
        var endedAt = record.SentAt + record.Result!.Elapsed;
        Execute(tx, "INSERT OR REPLACE INTO disabled_webhooks (webhook_id, disabled_at, reason) VALUES ($id, $at, $reason)",
            ("$id", record.Delivery.WebhookId), ("$at", Ms(endedAt)),
            ("$reason", $"the retry window of {record.Delivery.EventId} ended without a 2xx"));
        _disabledChanged = true;
        return DropPending(tx, record.Delivery.WebhookId, null, endedAt, "dropped: the webhook was disabled");
    }

    /// <summary>Ends a pending delivery without an attempt (its webhook is gone), logged as dropped.</summary>
    internal void Drop(ClaimedDelivery delivery, DateTimeOffset at, string reason)
    {
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
            DropPending(tx, delivery.WebhookId, delivery.Id, at, reason);
            tx.Commit();
        }
    }

    /// <summary>Gives a leased delivery back untouched (the process is stopping mid-attempt).</summary>
    internal void Release(long deliveryId)
    {
        lock (_gate)
        {
            Execute(null, "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE id = $id", ("$id", deliveryId));
        }
    }

    /// <summary>
    /// The delivery log, oldest first (by the time each attempt started, then by delivery and attempt), optionally for
    /// one event and/or one webhook.
    /// </summary>
    public IReadOnlyList<DeliveryLogRow> Log(string? eventId = null, string? webhookId = null)
    {
        CatchUp();
        lock (_gate)
        {
            // The attempts logged in rows of their own, and the accepted attempts 1 of fan-outs logged on their
            // delivery rows.
            using var cmd = Command(null, """
                SELECT delivery_id, event_id, event_type, webhook_id, attempt, scheduled_offset_ms, sent_at, outcome,
                       http_status, latency_ms, error, answer, id AS seq
                FROM attempts WHERE ($event IS NULL OR event_id = $event) AND ($webhook IS NULL OR webhook_id = $webhook)
                UNION ALL
                SELECT d.id, d.event_id, e.type, d.webhook_id, 1, $offset, d.first_sent_at, 'accepted',
                       d.first_status, d.first_latency_ms, NULL, d.first_answer, 0
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE d.first_sent_at IS NOT NULL AND ($event IS NULL OR d.event_id = $event) AND ($webhook IS NULL OR d.webhook_id = $webhook)
                ORDER BY 7, 1, 5, 13
                """, ("$event", eventId), ("$webhook", webhookId), ("$offset", (long)ScheduleCursor.OffsetOf(1).TotalMilliseconds));
            return ReadAll(cmd, r => new DeliveryLogRow(
                r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetInt32(4),
                r.IsDBNull(5) ? null : TimeSpan.FromMilliseconds(r.GetInt64(5)),
                FromMs(r.GetInt64(6)), r.GetString(7),
                r.IsDBNull(8) ? null : r.GetInt32(8),
                r.IsDBNull(9) ? null : TimeSpan.FromMilliseconds(r.GetDouble(9)),
                r.IsDBNull(10) ? null : r.GetString(10),
                r.IsDBNull(11) ? null : r.GetString(11)));
        }
    }

    /// <summary>
    /// Every delivery's state, oldest first, optionally for one event and/or one webhook; the deliveries of a fan-out
    /// whose attempts 1 are not recorded yet come last, pending, with id 0.
    /// </summary>
    public IReadOnlyList<DeliveryState> Deliveries(string? eventId = null, string? webhookId = null)
    {
        CatchUp();
        lock (_gate)
        {
            using var cmd = Command(null, """
                SELECT d.id, d.event_id, e.type, d.webhook_id, d.status, d.attempts, d.next_slot, d.next_due, d.end_reason
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE ($event IS NULL OR d.event_id = $event) AND ($webhook IS NULL OR d.webhook_id = $webhook)
                ORDER BY d.id
                """, ("$event", eventId), ("$webhook", webhookId));
            var states = ReadAll(cmd, r => new DeliveryState(
                r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), Enum.Parse<DeliveryStatus>(r.GetString(4), ignoreCase: true),
                r.GetInt32(5), r.GetInt32(6), FromMs(r.GetInt64(7)), r.IsDBNull(8) ? null : r.GetString(8)));
            // A fan-out not recorded yet (its sender is sending, or died): its deliveries have no row, so no id yet.
            foreach (var fanOut in OpenFanOuts(null, eventId, null))
            {
                states.AddRange(fanOut.Unrecorded.Where(w => webhookId is null || w == webhookId)
                    .Select(w => new DeliveryState(0, fanOut.EventId, fanOut.EventType, w, DeliveryStatus.Pending, 0, 1, fanOut.FirstAt, null)));
            }
            return states;
        }
    }

    /// <summary>Webhooks disabled locally, by id.</summary>
    public IReadOnlyDictionary<string, DisabledWebhook> Disabled()
    {
        CatchUp();
        return ReadDisabledOnSide();
    }

    private const string DisabledQuery = "SELECT webhook_id, disabled_at, reason FROM disabled_webhooks";

    private static Dictionary<string, DisabledWebhook> ReadDisabled(SqliteCommand query) =>
        ReadAll(query, r => new DisabledWebhook(r.GetString(0), FromMs(r.GetInt64(1)), r.GetString(2)))
        .ToDictionary(d => d.WebhookId, StringComparer.Ordinal);

    /// <summary>Clears a webhook's local disabled state; false when it was not disabled.</summary>
    public bool Enable(string webhookId)
    {
        CatchUp();
        lock (_gate)
        {
            var enabled = Execute(null, "DELETE FROM disabled_webhooks WHERE webhook_id = $id", ("$id", webhookId)) > 0;
            Interlocked.Increment(ref _disabledEpoch);
            return enabled;
        }
    }

    public void Dispose()
    {
        // Writes already queued finish first.
        lock (_queueGate)
        {
            _closed = true;
            Monitor.PulseAll(_queueGate);
        }
        if (_writer.IsAlive && Thread.CurrentThread != _writer)
        {
            _writer.Join();
        }
        _checkpoints.Dispose();
        lock (_sideGate)
        {
            _readDisabled.Dispose();
            _side.Dispose();
        }
        lock (_gate)
        {
            foreach (var cmd in _prepared.Values)
            {
                cmd.Dispose();
            }
            _insertEvent.Dispose();
            _insertFanOut.Dispose();
            _insertDelivery.Dispose();
            _insertLog.Dispose();
            _prepared.Clear();
            _connection.Dispose();
        }
    }

    private int DropPending(SqliteTransaction tx, string webhookId, long? deliveryId, DateTimeOffset at, string reason)
    {
        using var select = Command(tx, """
            SELECT d.id, d.event_id, e.type FROM deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.webhook_id = $webhook AND d.status = 'pending' AND ($delivery IS NULL OR d.id = $delivery)
            """, ("$webhook", webhookId), ("$delivery", deliveryId));
        var rows = ReadAll(select, r => (Id: r.GetInt64(0), EventId: r.GetString(1), Type: r.GetString(2)));
        foreach (var row in rows)
        {
            InsertDroppedLog(row.Id, row.EventId, row.Type, webhookId, at, reason);
            Execute(tx, """
                UPDATE deliveries SET status = 'dropped', lease_owner = NULL, lease_until = NULL, ended_at = $at, end_reason = $reason
                WHERE id = $id
                """, ("$at", Ms(at)), ("$reason", reason), ("$id", row.Id));
        }
        return rows.Count;
    }

    /// <summary>A delivery ended without an attempt: a log row with no attempt number, status or answer.</summary>
    private void InsertDroppedLog(long deliveryId, string eventId, string eventType, string webhookId, DateTimeOffset at, string? reason) =>
        InsertLog(deliveryId, eventId, eventType, webhookId, null, null, at, "dropped", null, null, reason, null);

    private void InsertLog(long deliveryId, string eventId, string eventType, string webhookId, int? attempt,
        TimeSpan? offset, DateTimeOffset sentAt, string outcome, int? status, TimeSpan? latency, string? error, string? answer)
    {
        // Runs in the connection's current transaction, like every statement of the writer.
        _insertLog.Bind(1, deliveryId).Bind(2, eventId).Bind(3, eventType).Bind(4, webhookId).Bind(5, (long?)attempt)
            .Bind(6, offset is { } o ? (long)o.TotalMilliseconds : null).Bind(7, Ms(sentAt)).Bind(8, outcome).Bind(9, (long?)status)
            .Bind(10, latency?.TotalMilliseconds).Bind(11, error).Bind(12, answer).Insert();
    }

    private static string Describe(AttemptOutcome outcome) => outcome switch
    {
        AttemptOutcome.Accepted => "accepted",
        AttemptOutcome.Refused => "refused",
        AttemptOutcome.TimedOut => "timeout",
        AttemptOutcome.ConnectionFailed => "connection failed",
        _ => "canceled",
    };

    private void Migrate()
    {
        using var version = Command(null, "PRAGMA user_version");
        var current = Convert.ToInt32(version.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        if (current > SchemaVersion)
        {
            throw new LocalDeliveryException($"The delivery store '{Path}' was written by a newer version (schema {current}); this one reads {SchemaVersion}.");
        }
        if (current == SchemaVersion)
        {
            // Already migrated (and in WAL mode): a read only, so processes opening the account together never queue
            // behind each other's schema writes.
            return;
        }
        // WAL (kept in the file): readers (deliveries, webhooks list) never block the deliverer.
        // Schema 2: the index of deliveries by webhook holds pending ones only (only dropping a disabled webhook's
        // pending deliveries reads it); schema 1 indexed every delivery by webhook and status, so each status
        // change rewrote a page of it per webhook. Schema 3: fan-outs (see the remarks on the class). Schema 4: a fan-out's
        // accepted attempt 1 logged on its delivery row.
        ExecuteOnce(null, $"""
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS events (
                id         TEXT PRIMARY KEY,
                type       TEXT NOT NULL,
                body       BLOB NOT NULL,
                created_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS deliveries (
                id          INTEGER PRIMARY KEY,
                event_id    TEXT NOT NULL REFERENCES events(id),
                webhook_id  TEXT NOT NULL,
                status      TEXT NOT NULL,
                first_at    INTEGER NOT NULL,
                next_slot   INTEGER NOT NULL,
                next_due    INTEGER NOT NULL,
                attempts    INTEGER NOT NULL,
                lease_owner TEXT,
                lease_until INTEGER,
                ended_at    INTEGER,
                end_reason  TEXT,
                fanout_id   INTEGER,
                first_sent_at    INTEGER,
                first_status     INTEGER,
                first_latency_ms REAL,
                first_answer     TEXT);
            CREATE INDEX IF NOT EXISTS deliveries_pending_due ON deliveries(next_due) WHERE status = 'pending';
            CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries(event_id);
            DROP INDEX IF EXISTS deliveries_webhook;
            CREATE INDEX IF NOT EXISTS deliveries_webhook_pending ON deliveries(webhook_id) WHERE status = 'pending';
            CREATE TABLE IF NOT EXISTS attempts (
                id                  INTEGER PRIMARY KEY,
                delivery_id         INTEGER NOT NULL,
                event_id            TEXT NOT NULL,
                event_type          TEXT NOT NULL,
                webhook_id          TEXT NOT NULL,
                attempt             INTEGER,
                scheduled_offset_ms INTEGER,
                sent_at             INTEGER NOT NULL,
                outcome             TEXT NOT NULL,
                http_status         INTEGER,
                latency_ms          REAL,
                error               TEXT,
                answer              TEXT);
            CREATE INDEX IF NOT EXISTS attempts_event ON attempts(event_id);
            CREATE TABLE IF NOT EXISTS fanouts (
                id          INTEGER PRIMARY KEY,
                event_id    TEXT NOT NULL,
                webhooks    TEXT NOT NULL,
                first_at    INTEGER NOT NULL,
                lease_owner TEXT NOT NULL,
                lease_until INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS disabled_webhooks (
                webhook_id  TEXT PRIMARY KEY,
                disabled_at INTEGER NOT NULL,
                reason      TEXT NOT NULL);
            """);
        // An older store gets the columns it lacks; in a transaction, as another process may be opening it too.
        using var upgrade = _connection.BeginTransaction();
        foreach (var (column, type) in new[] { ("fanout_id", "INTEGER"), ("first_sent_at", "INTEGER"), ("first_status", "INTEGER"),
            ("first_latency_ms", "REAL"), ("first_answer", "TEXT") })
        {
            using var has = Command(upgrade, "SELECT COUNT(*) FROM pragma_table_info('deliveries') WHERE name = $name", ("$name", column));
            if (Convert.ToInt32(has.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                ExecuteOnce(upgrade, $"ALTER TABLE deliveries ADD COLUMN {column} {type}");
            }
        }
        ExecuteOnce(upgrade, $"PRAGMA user_version = {SchemaVersion}");
        upgrade.Commit();
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = (int)LockWait.TotalSeconds,
        }.ToString());
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void CreateOwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }
        // The queue holds every payload sent: owner-only, like the account file. SQLite gives its -wal and -shm
        // files the database file's mode.
        try
        {
            using var _ = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first.
        }
    }

    private SqliteCommand Command(SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = _connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return cmd;
    }

    private int Execute(SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = Prepared(tx, sql);
        // A kept statement keeps its parameters: each call site names the same ones in the same order, so only the
        // values change (new parameter objects for every row were a share of the writer's time).
        if (cmd.Parameters.Count != parameters.Length)
        {
            cmd.Parameters.Clear();
            foreach (var (name, _) in parameters)
            {
                cmd.Parameters.Add(new SqliteParameter { ParameterName = name });
            }
        }
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = cmd.Parameters[i];
            if (!string.Equals(parameter.ParameterName, parameters[i].Name, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"statement parameters out of order: {parameter.ParameterName} vs {parameters[i].Name}");
            }
            parameter.Value = parameters[i].Value ?? DBNull.Value;
        }
        return cmd.ExecuteNonQuery();
    }

    /// <summary>The statement of <paramref name="sql"/>, prepared on first use and kept, bound to <paramref name="tx"/>.</summary>
    private SqliteCommand Prepared(SqliteTransaction? tx, string sql)
    {
        if (!_prepared.TryGetValue(sql, out var cmd))
        {
            cmd = _connection.CreateCommand();
            cmd.CommandText = sql;
            cmd.Prepare();
            _prepared[sql] = cmd;
        }
        // Always set: a kept command still names the transaction of its last run otherwise.
        cmd.Transaction = tx;
        return cmd;
    }

    /// <summary>A statement run once (its text is built at run time), so not kept prepared.</summary>
    private int ExecuteOnce(SqliteTransaction? tx, string sql)
    {
        using var cmd = Command(tx, sql);
        return cmd.ExecuteNonQuery();
    }

    private static List<T> ReadAll<T>(SqliteCommand cmd, Func<SqliteDataReader, T> read)
    {
        using var reader = cmd.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }
        return rows;
    }

    private static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}

/// <summary>The local delivery cannot proceed (store unreadable, account missing); the message says what and where.</summary>
public sealed class LocalDeliveryException(string message, Exception? inner = null) : Exception(message, inner);
