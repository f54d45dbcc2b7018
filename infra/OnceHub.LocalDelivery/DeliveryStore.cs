using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using OnceHub.Contracts.Delivery;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery;

/// <summary>One attempt's outcome, to be logged and applied to its delivery.</summary>
internal sealed record AttemptRecord(ClaimedDelivery Delivery, int Slot, DateTimeOffset SentAt, AttemptResult Result,
    AttemptVerdict Verdict, DateTimeOffset NextDue);

/// <summary>What one attempt leads to.</summary>
internal enum AttemptVerdict
{
    Delivered,
    Retry,
    /// <summary>The last attempt of the window failed: the delivery fails and its webhook is disabled.</summary>
    WindowEnded,
}

/// <summary>
/// The local account's delivery queue and log: <c>deliveries.db</c> (SQLite, WAL) in the account folder, beside
/// the account's JSON file, which keeps only what the API returns. Every state change is one transaction, so a
/// process killed at any point leaves each delivery either before or after an attempt; a delivery whose
/// attempt was in flight is retried (at-least-once; receivers de-duplicate by event id). Several processes may
/// share the folder: a delivery is leased (real time) to the process sending its attempt. Times are stored as
/// Unix milliseconds on the delivering clock (see <see cref="DeliveryTime"/>).
/// </summary>
public sealed class DeliveryStore : IDisposable
{
    public const string FileName = "deliveries.db";
    private const int SchemaVersion = 2;
    private const string Pending = "pending";

    private readonly SqliteConnection _connection;
    // One connection per store, one statement at a time: SQLite serialises writers anyway.
    private readonly Lock _gate = new();
    // Prepared statements by SQL text, reused under the gate: parsing and planning the same statements for every
    // attempt was a measurable share of a fan-out's CPU time. The SQL texts are constants, so the cache is bounded.
    private readonly Dictionary<string, SqliteCommand> _prepared = new(StringComparer.Ordinal);
    // The fan-out's writes run on a thread of their own and are awaited: SQLite work done under the gate on pool
    // threads blocked them while the sends' continuations waited for a thread (the process sat at 58% of its cores).
    private readonly BlockingCollection<Write> _writes = new(new ConcurrentQueue<Write>());
    private readonly Thread _writer;
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
            ExecuteOnce(null, "PRAGMA wal_autocheckpoint = 0");
            _side = Open(Path);
            _readDisabled = _side.CreateCommand();
            _readDisabled.CommandText = DisabledQuery;
            _readDisabled.Prepare();
            _checkpoints = new WalCheckpoints(Path, CheckpointEvery);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
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
    /// Stores the event (once per id) and one delivery per webhook, leased to the caller for attempt 1, in one
    /// transaction on the store's writer thread.
    /// </summary>
    internal Task<List<ClaimedDelivery>> AddDeliveriesAsync(string eventId, string eventType, byte[] body, DateTimeOffset createdAt,
        IReadOnlyList<string> webhookIds, DateTimeOffset firstAt, string leaseOwner, DateTimeOffset leaseUntil) =>
        OnWriter(tx => AddDeliveries(tx, eventId, eventType, body, createdAt, webhookIds, firstAt, leaseOwner, leaseUntil));

    /// <summary>
    /// Logs attempts and moves their deliveries on, in one transaction on the store's writer thread. When the
    /// window ended, the delivery fails, its webhook is disabled and the webhook's other pending deliveries are
    /// dropped (each logged).
    /// Returns how many other deliveries were dropped. A delivery that stopped being pending meanwhile (dropped by
    /// another process) only gets its log row.
    /// </summary>
    /// <remarks>
    /// Several attempts go in one transaction (a fan-out's attempt 1 to every webhook): one commit instead of one
    /// per webhook. A kill before the commit re-sends those attempts, which at-least-once allows.
    /// </remarks>
    internal Task<int> RecordAttemptsAsync(IReadOnlyList<AttemptRecord> records) => OnWriter(tx => RecordAttempts(tx, records));

    /// <summary><see cref="Disabled"/> read on the second connection: it neither waits for the writes nor delays them.</summary>
    internal Dictionary<string, DisabledWebhook> DisabledNow()
    {
        lock (_sideGate)
        {
            return ReadDisabled(_readDisabled);
        }
    }

    private Task<T> OnWriter<T>(Func<SqliteTransaction, T> work)
    {
        var write = new Write<T>(work);
        try
        {
            _writes.Add(write);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(DeliveryStore));
        }
        return write.Task;
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

    // One write, one transaction, in arrival order. (Grouping the writes queued meanwhile into one transaction
    // was measured too: no faster, since the rows, not the commits, are the cost.)
    private void WriteLoop()
    {
        foreach (var write in _writes.GetConsumingEnumerable())
        {
            lock (_gate)
            {
                _checkpoints.FinishOnWriter(_connection);
                try
                {
                    using var tx = _connection.BeginTransaction();
                    write.Run(tx);
                    tx.Commit();
                }
                catch (Exception ex)
                {
                    // Whatever failed reaches the caller that awaits the write; the writer thread goes on.
                    write.Fail(ex);
                    continue;
                }
            }
            write.Complete();
        }
    }

    private List<ClaimedDelivery> AddDeliveries(SqliteTransaction tx, string eventId, string eventType, byte[] body, DateTimeOffset createdAt,
        IReadOnlyList<string> webhookIds, DateTimeOffset firstAt, string leaseOwner, DateTimeOffset leaseUntil)
    {
        Execute(tx, "INSERT OR IGNORE INTO events (id, type, body, created_at) VALUES ($id, $type, $body, $at)",
            ("$id", eventId), ("$type", eventType), ("$body", body), ("$at", Ms(createdAt)));
        var claimed = new List<ClaimedDelivery>(webhookIds.Count);
        using var insert = Command(tx, """
            INSERT INTO deliveries (event_id, webhook_id, status, first_at, next_slot, next_due, attempts, lease_owner, lease_until)
            VALUES ($event, $webhook, 'pending', $first, 1, $first, 0, $owner, $lease) RETURNING id
            """, ("$event", eventId), ("$webhook", ""), ("$first", Ms(firstAt)), ("$owner", leaseOwner), ("$lease", Ms(leaseUntil)));
        foreach (var webhookId in webhookIds)
        {
            insert.Parameters["$webhook"].Value = webhookId;
            var id = (long)insert.ExecuteScalar()!;
            claimed.Add(new ClaimedDelivery(id, eventId, eventType, webhookId, FromMs(Ms(firstAt)), 1, body));
        }
        return claimed;
    }

    /// <summary>The stored event, or null when this account never delivered that id.</summary>
    public (string Type, byte[] Body)? FindEvent(string eventId)
    {
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
        lock (_gate)
        {
            using var tx = _connection.BeginTransaction();
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

    /// <summary>The earliest due time among pending deliveries no live process holds, or null when there is none.</summary>
    public DateTimeOffset? NextDue(string? eventId, DateTimeOffset realNow)
    {
        lock (_gate)
        {
            using var cmd = Command(null, """
                SELECT MIN(next_due) FROM deliveries
                WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $real) AND ($event IS NULL OR event_id = $event)
                  AND webhook_id NOT IN (SELECT webhook_id FROM disabled_webhooks)
                """, ("$real", Ms(realNow)), ("$event", eventId));
            return cmd.ExecuteScalar() is long ms ? FromMs(ms) : null;
        }
    }

    /// <summary>Pending deliveries (of one event, or all).</summary>
    public int PendingCount(string? eventId = null)
    {
        lock (_gate)
        {
            using var cmd = Command(null, "SELECT COUNT(*) FROM deliveries WHERE status = 'pending' AND ($event IS NULL OR event_id = $event)",
                ("$event", eventId));
            return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private int RecordAttempts(SqliteTransaction tx, IReadOnlyList<AttemptRecord> records)
    {
        var dropped = 0;
        foreach (var record in records)
        {
            dropped += Record(tx, record);
        }
        return dropped;
    }

    private int Record(SqliteTransaction tx, AttemptRecord record)
    {
        var (delivery, slot, sentAt, result, verdict, nextDue) = record;
        InsertLog(tx, delivery.Id, delivery.EventId, delivery.EventType, delivery.WebhookId, slot,
            ScheduleCursor.OffsetOf(slot), sentAt, Describe(result.Outcome), result.StatusCode, result.Elapsed,
            result.Outcome is AttemptOutcome.Accepted or AttemptOutcome.Refused ? null : result.Describe(), result.Body);
        var (status, reason) = verdict switch
        {
            AttemptVerdict.Delivered => ("delivered", (string?)$"attempt {slot} answered {result.StatusCode}"),
            AttemptVerdict.WindowEnded => ("failed", $"no 2xx in {slot} attempts; the webhook was disabled"),
            _ => (Pending, null),
        };
        Execute(tx, """
            UPDATE deliveries SET status = $status, attempts = attempts + 1, next_slot = $next, next_due = $due,
                lease_owner = NULL, lease_until = NULL, ended_at = $ended, end_reason = $reason
            WHERE id = $id AND status = 'pending'
            """, ("$status", status), ("$next", verdict == AttemptVerdict.Retry ? slot + 1 : slot), ("$due", Ms(nextDue)),
            ("$ended", status == Pending ? null : Ms(sentAt + result.Elapsed)), ("$reason", reason), ("$id", delivery.Id));
        var dropped = 0;
        if (verdict == AttemptVerdict.WindowEnded)
        {
            Execute(tx, "INSERT OR REPLACE INTO disabled_webhooks (webhook_id, disabled_at, reason) VALUES ($id, $at, $reason)",
                ("$id", delivery.WebhookId), ("$at", Ms(sentAt + result.Elapsed)),
                ("$reason", $"the retry window of {delivery.EventId} ended without a 2xx"));
            dropped = DropPending(tx, delivery.WebhookId, null, sentAt + result.Elapsed, "dropped: the webhook was disabled");
        }
        return dropped;
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

    /// <summary>The delivery log, oldest first, optionally for one event and/or one webhook.</summary>
    public IReadOnlyList<DeliveryLogRow> Log(string? eventId = null, string? webhookId = null)
    {
        lock (_gate)
        {
            using var cmd = Command(null, """
                SELECT delivery_id, event_id, event_type, webhook_id, attempt, scheduled_offset_ms, sent_at, outcome,
                       http_status, latency_ms, error, answer
                FROM attempts WHERE ($event IS NULL OR event_id = $event) AND ($webhook IS NULL OR webhook_id = $webhook)
                ORDER BY id
                """, ("$event", eventId), ("$webhook", webhookId));
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

    /// <summary>Every delivery's state, oldest first, optionally for one event and/or one webhook.</summary>
    public IReadOnlyList<DeliveryState> Deliveries(string? eventId = null, string? webhookId = null)
    {
        lock (_gate)
        {
            using var cmd = Command(null, """
                SELECT d.id, d.event_id, e.type, d.webhook_id, d.status, d.attempts, d.next_slot, d.next_due, d.end_reason
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE ($event IS NULL OR d.event_id = $event) AND ($webhook IS NULL OR d.webhook_id = $webhook)
                ORDER BY d.id
                """, ("$event", eventId), ("$webhook", webhookId));
            return ReadAll(cmd, r => new DeliveryState(
                r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), Enum.Parse<DeliveryStatus>(r.GetString(4), ignoreCase: true),
                r.GetInt32(5), r.GetInt32(6), FromMs(r.GetInt64(7)), r.IsDBNull(8) ? null : r.GetString(8)));
        }
    }

    /// <summary>Webhooks disabled locally, by id.</summary>
    public IReadOnlyDictionary<string, DisabledWebhook> Disabled() => DisabledNow();

    private const string DisabledQuery = "SELECT webhook_id, disabled_at, reason FROM disabled_webhooks";

    private static Dictionary<string, DisabledWebhook> ReadDisabled(SqliteCommand query) =>
        ReadAll(query, r => new DisabledWebhook(r.GetString(0), FromMs(r.GetInt64(1)), r.GetString(2)))
        .ToDictionary(d => d.WebhookId, StringComparer.Ordinal);

    /// <summary>Clears a webhook's local disabled state; false when it was not disabled.</summary>
    public bool Enable(string webhookId)
    {
        lock (_gate)
        {
            return Execute(null, "DELETE FROM disabled_webhooks WHERE webhook_id = $id", ("$id", webhookId)) > 0;
        }
    }

    public void Dispose()
    {
        // Writes already queued finish first.
        _writes.CompleteAdding();
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
            InsertLog(tx, row.Id, row.EventId, row.Type, webhookId, null, null, at, "dropped", null, null, reason, null);
            Execute(tx, """
                UPDATE deliveries SET status = 'dropped', lease_owner = NULL, lease_until = NULL, ended_at = $at, end_reason = $reason
                WHERE id = $id
                """, ("$at", Ms(at)), ("$reason", reason), ("$id", row.Id));
        }
        return rows.Count;
    }

    private void InsertLog(SqliteTransaction tx, long deliveryId, string eventId, string eventType, string webhookId, int? attempt,
        TimeSpan? offset, DateTimeOffset sentAt, string outcome, int? status, TimeSpan? latency, string? error, string? answer) =>
        Execute(tx, """
            INSERT INTO attempts (delivery_id, event_id, event_type, webhook_id, attempt, scheduled_offset_ms, sent_at, outcome,
                                  http_status, latency_ms, error, answer)
            VALUES ($delivery, $event, $type, $webhook, $attempt, $offset, $sent, $outcome, $status, $latency, $error, $answer)
            """, ("$delivery", deliveryId), ("$event", eventId), ("$type", eventType), ("$webhook", webhookId), ("$attempt", attempt),
            ("$offset", offset is { } o ? (long)o.TotalMilliseconds : null), ("$sent", Ms(sentAt)), ("$outcome", outcome),
            ("$status", status), ("$latency", latency?.TotalMilliseconds), ("$error", error), ("$answer", answer));

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
        // WAL: readers (deliveries, webhooks list) never block the deliverer; NORMAL sync keeps every committed
        // transaction across a killed process (only a power loss could take the last ones).
        // Schema 2: the index of deliveries by webhook holds pending ones only (only dropping a disabled webhook's
        // pending deliveries reads it); schema 1 indexed every delivery by webhook and status, so each status
        // change rewrote a page of it per webhook.
        ExecuteOnce(null, $"""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
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
                end_reason  TEXT);
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
            CREATE TABLE IF NOT EXISTS disabled_webhooks (
                webhook_id  TEXT PRIMARY KEY,
                disabled_at INTEGER NOT NULL,
                reason      TEXT NOT NULL);
            PRAGMA user_version = {SchemaVersion};
            """);
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
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
        cmd.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
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
