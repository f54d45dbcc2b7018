using System.Globalization;
using Microsoft.Data.Sqlite;
using OnceHub.Sqlite;

namespace OnceHub.Webhooks;

/// <summary>
/// <see cref="IEventStore"/> in SQLite (WAL): durable across restarts with a file, or in memory for the
/// lifetime of the object. One table of event ids (state, lease, failure count) and one quarantine table.
/// A claim is one atomic upsert, so several receiver processes may share one file.
/// </summary>
/// <remarks>
/// Every operation runs on one writer thread (<see cref="SqliteWriter"/>): no request thread blocks on the disk or
/// on a lock, an operation is answered only once the transaction that ran it has committed, and under load one
/// commit (one sync with <see cref="SqliteSynchronous.Full"/>) carries the claims and settles of many deliveries.
/// Checkpoints run off the writer's path (<see cref="WalCheckpoints"/>). A new file gets 1 KiB pages (an existing
/// one keeps its own): event ids are random, so each new id dirties a page of the id index of its own, and smaller
/// pages mean fewer bytes written to the log and copied by the checkpoint for each.
/// </remarks>
public sealed class SqliteEventStore : IEventStore
{
    // Enough to amortise a commit over many deliveries, small enough that one transaction stays short.
    private const int MaxBatch = 256;
    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromSeconds(1);

    private readonly SqliteConnection _connection;
    private readonly SqliteWriter _writer;
    private int _disposed;
    // The hot statements, prepared once: preparing SQL again for every event cost more than executing it.
    private readonly SqliteCommand _claim;
    private readonly SqliteCommand _state;
    private readonly SqliteCommand _settle;
    private readonly SqliteCommand _fail;
    private readonly SqliteCommand _raiseObjectTime;
    private readonly SqliteCommand _objectTime;

    /// <param name="databasePath">A file path, or null for an in-memory store that lasts as long as this object.</param>
    public SqliteEventStore(string? databasePath)
        : this(databasePath, new SqliteEventStoreOptions())
    {
    }

    /// <param name="databasePath">As above.</param>
    /// <param name="options">What a commit survives.</param>
    public SqliteEventStore(string? databasePath, SqliteEventStoreOptions options)
        : this(databasePath, options, WalCheckpoints.DefaultFinishAboveBytes)
    {
    }

    /// <param name="databasePath">As above.</param>
    /// <param name="options">As above.</param>
    /// <param name="walFinishAboveBytes">
    /// Log size above which the writer finishes a checkpoint (<see cref="WalCheckpoints"/>); tests set 0 so the
    /// log starts over at every checkpoint whatever their machine's write rate.
    /// </param>
    internal SqliteEventStore(string? databasePath, SqliteEventStoreOptions options, long walFinishAboveBytes)
    {
        ArgumentNullException.ThrowIfNull(options);
        _connection = Open(databasePath);
        WalCheckpoints? checkpoints = null;
        try
        {
            DropOutdatedSettledIndex(_connection);
            Execute(_connection, $"""
                PRAGMA page_size = 1024;
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = {(options.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL")};
                PRAGMA busy_timeout = 5000;
                {(databasePath is null ? "" : "PRAGMA wal_autocheckpoint = 0;")}
                CREATE TABLE IF NOT EXISTS events (
                    event_id    TEXT PRIMARY KEY,
                    event_type  TEXT NOT NULL,
                    state       TEXT NOT NULL,
                    lease_until INTEGER,
                    failures    INTEGER NOT NULL DEFAULT 0,
                    updated_at  TEXT NOT NULL
                );
                CREATE TABLE IF NOT EXISTS quarantine (
                    id          INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id    TEXT,
                    event_type  TEXT,
                    reason      TEXT NOT NULL,
                    received_at TEXT NOT NULL,
                    body        BLOB NOT NULL,
                    replayed_at TEXT
                );
                -- Purging settled ids oldest first reads this instead of the whole table; it grows at its end only.
                CREATE INDEX IF NOT EXISTS events_settled_at ON events (updated_at)
                    WHERE state IN ({EventStates.SettledList});
                """);
            // A new id, a failed one or one whose lease ran out (the delivery that held it crashed or hung) is
            // claimed in one statement; a row comes back only when the claim took.
            _claim = Prepare($"""
                INSERT INTO events (event_id, event_type, state, lease_until, failures, updated_at)
                VALUES ($id, $type, '{EventStates.InFlight}', $lease, 0, $now)
                ON CONFLICT(event_id) DO UPDATE SET state = '{EventStates.InFlight}', lease_until = $lease, updated_at = $now
                WHERE events.state = '{EventStates.Failed}'
                   OR (events.state = '{EventStates.InFlight}' AND (events.lease_until IS NULL OR events.lease_until <= $now_ms))
                RETURNING 1
                """, "$id", "$type", "$lease", "$now", "$now_ms");
            _state = Prepare("SELECT state FROM events WHERE event_id = $id", "$id");
            _settle = Prepare("""
                INSERT INTO events (event_id, event_type, state, lease_until, failures, updated_at)
                VALUES ($id, $type, $state, NULL, 0, $now)
                ON CONFLICT(event_id) DO UPDATE SET state = $state, lease_until = NULL, updated_at = $now
                """, "$id", "$type", "$state", "$now");
            _fail = Prepare($"""
                UPDATE events SET state = '{EventStates.Failed}', lease_until = NULL, failures = failures + $add, updated_at = $now
                WHERE event_id = $id AND state IN ('{EventStates.Failed}', '{EventStates.InFlight}') RETURNING failures
                """, "$id", "$now", "$add");
            CreateObjectTimes(_connection);
            (_raiseObjectTime, _objectTime) = PrepareObjectTimes();
            if (databasePath is not null)
            {
                checkpoints = new WalCheckpoints(databasePath, CheckpointEvery, walFinishAboveBytes);
            }
            _writer = new SqliteWriter(_connection, nameof(SqliteEventStore), MaxBatch, checkpoints);
        }
        catch
        {
            // Nothing half-open survives a failed constructor (an unreadable file, a locked database).
            checkpoints?.Dispose();
            _connection.Dispose();
            throw;
        }
    }

    public ValueTask<BeginOutcome> TryBeginAsync(string eventId, string eventType, DateTimeOffset now, DateTimeOffset leaseUntil) => Run(() =>
    {
        _claim.Parameters[0].Value = eventId;
        _claim.Parameters[1].Value = eventType;
        _claim.Parameters[2].Value = leaseUntil.ToUnixTimeMilliseconds();
        _claim.Parameters[3].Value = Text(now);
        _claim.Parameters[4].Value = now.ToUnixTimeMilliseconds();
        if (_claim.ExecuteScalar() is not null)
        {
            return BeginOutcome.Started;
        }
        // Not claimed: settled before, or another delivery holds a live lease.
        _state.Parameters[0].Value = eventId;
        return _state.ExecuteScalar() is EventStates.InFlight or EventStates.Failed ? BeginOutcome.InFlight : BeginOutcome.AlreadyDone;
    });

    public ValueTask SettleAsync(string eventId, string eventType, SettledAs how, DateTimeOffset now) =>
        SettleAsync(eventId, eventType, how, now, update: null);

    public ValueTask SettleAsync(string eventId, string eventType, SettledAs how, DateTimeOffset now, ObjectUpdate? update) => RunVoid(() =>
    {
        _settle.Parameters[0].Value = eventId;
        _settle.Parameters[1].Value = eventType;
        _settle.Parameters[2].Value = EventStates.Name(how);
        _settle.Parameters[3].Value = Text(now);
        _settle.ExecuteNonQuery();
        // The same operation, so the same transaction: the time is kept exactly when the settle is.
        if (update is not null)
        {
            RaiseObjectTime(update, now);
        }
    });

    public ValueTask<DateTimeOffset?> GetLastUpdatedTimeAsync(string objectId) => Run(() =>
    {
        _objectTime.Parameters[0].Value = objectId;
        return _objectTime.ExecuteScalar() is long ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : (DateTimeOffset?)null;
    });

    public ValueTask<int> RecordFailureAsync(string eventId, DateTimeOffset now, bool counts = true) => Run(() =>
    {
        _fail.Parameters[0].Value = eventId;
        _fail.Parameters[1].Value = Text(now);
        _fail.Parameters[2].Value = counts ? 1 : 0;
        return _fail.ExecuteScalar() is long failures ? (int)failures : 0;
    });

    public ValueTask<long> QuarantineAsync(string? eventId, string? eventType, string reason, ReadOnlyMemory<byte> body, DateTimeOffset now)
    {
        // A copy now: the caller may reuse its buffer before the writer gets to it.
        var copy = body.ToArray();
        return Run(() =>
        {
            using var insert = Command("""
                INSERT INTO quarantine (event_id, event_type, reason, received_at, body) VALUES ($id, $type, $reason, $now, $body)
                RETURNING id
                """, ("$id", eventId), ("$type", eventType), ("$reason", reason), ("$now", Text(now)), ("$body", copy));
            return (long)insert.ExecuteScalar()!;
        });
    }

    public ValueTask<IReadOnlyList<QuarantinedEvent>> ListQuarantineAsync(bool includeReplayed = false) => Run<IReadOnlyList<QuarantinedEvent>>(() =>
    {
        using var list = Command(includeReplayed
            ? "SELECT id, event_id, event_type, reason, received_at, body, replayed_at FROM quarantine ORDER BY id"
            : "SELECT id, event_id, event_type, reason, received_at, body, replayed_at FROM quarantine WHERE replayed_at IS NULL ORDER BY id");
        return ReadQuarantine(list);
    });

    public ValueTask<QuarantinedEvent?> GetQuarantinedAsync(long id) => Run(() =>
    {
        using var get = Command("SELECT id, event_id, event_type, reason, received_at, body, replayed_at FROM quarantine WHERE id = $id", ("$id", id));
        return ReadQuarantine(get).FirstOrDefault();
    });

    public ValueTask MarkReplayedAsync(long id, DateTimeOffset now) => RunVoid(() =>
    {
        using var mark = Command("UPDATE quarantine SET replayed_at = $now WHERE id = $id", ("$id", id), ("$now", Text(now)));
        mark.ExecuteNonQuery();
    });

    public ValueTask<bool> DeleteQuarantinedAsync(long id) => Run(() =>
    {
        using var delete = Command("DELETE FROM quarantine WHERE id = $id", ("$id", id));
        return delete.ExecuteNonQuery() == 1;
    });

    public ValueTask<int> PurgeSettledAsync(DateTimeOffset settledBefore, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return Run(() =>
        {
            using var purge = Command($"""
                DELETE FROM events WHERE event_id IN (
                    SELECT event_id FROM events
                    WHERE state IN ({EventStates.SettledList}) AND updated_at < $before
                    ORDER BY updated_at LIMIT $limit)
                """, ("$before", Text(settledBefore)), ("$limit", limit));
            var forgotten = purge.ExecuteNonQuery();
            return forgotten < limit ? forgotten + PurgeObjectTimes(settledBefore, limit - forgotten) : forgotten;
        });
    }

    public ValueTask<SettledAs?> GetSettledAsync(string eventId) => Run(() =>
    {
        _state.Parameters[0].Value = eventId;
        return EventStates.Settled(_state.ExecuteScalar());
    });

    /// <summary>Waits for the operations already queued, then closes the database.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _writer.Dispose();
        _claim.Dispose();
        _state.Dispose();
        _settle.Dispose();
        _fail.Dispose();
        _raiseObjectTime.Dispose();
        _objectTime.Dispose();
        _connection.Dispose();
    }

    // Object times: the newest last_updated_time settled per booking or conversation, in UTC ticks so that MAX
    // compares them as numbers. settled_at is when a settle last wrote the row, for the purge.
    private static void CreateObjectTimes(SqliteConnection connection) => Execute(connection, """
        CREATE TABLE IF NOT EXISTS object_times (
            object_id         TEXT PRIMARY KEY,
            last_updated_time INTEGER NOT NULL,
            settled_at        TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS object_times_settled_at ON object_times (settled_at);
        """);

    private (SqliteCommand Raise, SqliteCommand Read) PrepareObjectTimes() => (
        // MAX keeps the later time whatever order concurrent settles of one object commit in.
        Prepare("""
            INSERT INTO object_times (object_id, last_updated_time, settled_at) VALUES ($object, $time, $now)
            ON CONFLICT(object_id) DO UPDATE SET last_updated_time = MAX(last_updated_time, excluded.last_updated_time),
                settled_at = MAX(settled_at, excluded.settled_at)
            """, "$object", "$time", "$now"),
        Prepare("SELECT last_updated_time FROM object_times WHERE object_id = $object", "$object"));

    private void RaiseObjectTime(ObjectUpdate update, DateTimeOffset now)
    {
        _raiseObjectTime.Parameters[0].Value = update.ObjectId;
        _raiseObjectTime.Parameters[1].Value = update.LastUpdatedTime.UtcTicks;
        _raiseObjectTime.Parameters[2].Value = Text(now);
        _raiseObjectTime.ExecuteNonQuery();
    }

    private int PurgeObjectTimes(DateTimeOffset settledBefore, int limit)
    {
        using var purge = Command("""
            DELETE FROM object_times WHERE object_id IN (
                SELECT object_id FROM object_times WHERE settled_at < $before ORDER BY settled_at LIMIT $limit)
            """, ("$before", Text(settledBefore)), ("$limit", limit));
        return purge.ExecuteNonQuery();
    }

    // The purge's partial index names every settled state; one made before a state was added names fewer, and
    // the purge could not use it, so it is dropped here and made again with the others.
    private static void DropOutdatedSettledIndex(SqliteConnection connection)
    {
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'events_settled_at'";
        if (read.ExecuteScalar() is string sql && !sql.Contains(EventStates.SettledList, StringComparison.Ordinal))
        {
            Execute(connection, "DROP INDEX events_settled_at");
        }
    }

    private ValueTask<T> Run<T>(Func<T> work) => new(_writer.EnqueueAsync(work));

    private ValueTask RunVoid(Action work) => new(_writer.EnqueueAsync(() =>
    {
        work();
        return true;
    }));

    private static SqliteConnection Open(string? databasePath)
    {
        if (databasePath is not null)
        {
            // The file keeps quarantined bodies: readable by its owner only.
            OwnerOnlyFile.CreateIfMissing(databasePath);
        }
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath ?? ":memory:",
            Mode = databasePath is null ? SqliteOpenMode.Memory : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        return connection;
    }

    private static List<QuarantinedEvent> ReadQuarantine(SqliteCommand command)
    {
        var found = new List<QuarantinedEvent>();
        using var row = command.ExecuteReader();
        while (row.Read())
        {
            found.Add(new QuarantinedEvent(row.GetInt64(0), row.IsDBNull(1) ? null : row.GetString(1), row.IsDBNull(2) ? null : row.GetString(2),
                row.GetString(3), Parse(row.GetString(4)), (byte[])row[5], row.IsDBNull(6) ? null : Parse(row.GetString(6))));
        }
        return found;
    }

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    private SqliteCommand Prepare(string sql, params string[] names)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name, Value = DBNull.Value });
        }
        command.Prepare();
        return command;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string Text(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
