using System.Globalization;
using Microsoft.Data.Sqlite;

namespace OnceHub.Webhooks;

/// <summary>
/// <see cref="IEventStore"/> in SQLite (WAL): durable across restarts with a file, or in memory for the
/// lifetime of the object. One table of event ids (state, lease, failure count) and one quarantine table.
/// A claim is one atomic upsert (one write transaction), so several receiver processes may share one file.
/// </summary>
public sealed class SqliteEventStore : IEventStore
{
    private const string InFlight = "in_flight";
    private const string Failed = "failed";

    private readonly SqliteConnection _connection;
    // One connection, one statement at a time: SQLite serialises writes anyway, and this avoids busy retries.
    private readonly Lock _gate = new();
    // The hot path's statements, prepared once and reused under the lock: preparing SQL again for every
    // event cost more than executing it.
    private SqliteCommand? _claim;
    private SqliteCommand? _state;
    private SqliteCommand? _settle;

    /// <param name="databasePath">A file path, or null for an in-memory store that lasts as long as this object.</param>
    public SqliteEventStore(string? databasePath)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath ?? ":memory:",
            Mode = databasePath is null ? SqliteOpenMode.Memory : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        };
        _connection = new SqliteConnection(builder.ToString());
        _connection.Open();
        Execute("""
            PRAGMA journal_mode = WAL;
            PRAGMA synchronous = NORMAL;
            PRAGMA busy_timeout = 5000;
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
            """);
    }

    public BeginOutcome TryBegin(string eventId, string eventType, DateTimeOffset now, DateTimeOffset leaseUntil)
    {
        lock (_gate)
        {
            // One statement, so one write transaction: a new id, a failed one or one whose lease ran out (the
            // delivery that held it crashed or hung) is claimed; a row is returned only when the claim took.
            var claim = _claim ??= Prepare("""
                INSERT INTO events (event_id, event_type, state, lease_until, failures, updated_at)
                VALUES ($id, $type, 'in_flight', $lease, 0, $now)
                ON CONFLICT(event_id) DO UPDATE SET state = 'in_flight', lease_until = $lease, updated_at = $now
                WHERE events.state = 'failed'
                   OR (events.state = 'in_flight' AND (events.lease_until IS NULL OR events.lease_until <= $now_ms))
                RETURNING 1
                """, "$id", "$type", "$lease", "$now", "$now_ms");
            claim.Parameters[0].Value = eventId;
            claim.Parameters[1].Value = eventType;
            claim.Parameters[2].Value = leaseUntil.ToUnixTimeMilliseconds();
            claim.Parameters[3].Value = Text(now);
            claim.Parameters[4].Value = now.ToUnixTimeMilliseconds();
            if (claim.ExecuteScalar() is not null)
            {
                return BeginOutcome.Started;
            }
            // Not claimed: settled before, or another delivery holds a live lease. (Had the row changed since,
            // say to failed, answering in-flight is still safe: OnceHub retries it.)
            var state = _state ??= Prepare("SELECT state FROM events WHERE event_id = $id", "$id");
            state.Parameters[0].Value = eventId;
            return state.ExecuteScalar() is InFlight or Failed ? BeginOutcome.InFlight : BeginOutcome.AlreadyDone;
        }
    }

    public void Settle(string eventId, string eventType, SettledAs how, DateTimeOffset now)
    {
        lock (_gate)
        {
            var settle = _settle ??= Prepare("""
                INSERT INTO events (event_id, event_type, state, lease_until, failures, updated_at)
                VALUES ($id, $type, $state, NULL, 0, $now)
                ON CONFLICT(event_id) DO UPDATE SET state = $state, lease_until = NULL, updated_at = $now
                """, "$id", "$type", "$state", "$now");
            settle.Parameters[0].Value = eventId;
            settle.Parameters[1].Value = eventType;
            settle.Parameters[2].Value = StateName(how);
            settle.Parameters[3].Value = Text(now);
            settle.ExecuteNonQuery();
        }
    }

    public int RecordFailure(string eventId, DateTimeOffset now, bool counts = true)
    {
        lock (_gate)
        {
            using var fail = Command("""
                UPDATE events SET state = 'failed', lease_until = NULL, failures = failures + $add, updated_at = $now
                WHERE event_id = $id RETURNING failures
                """, ("$id", eventId), ("$now", Text(now)), ("$add", counts ? 1 : 0));
            return fail.ExecuteScalar() is long failures ? (int)failures : 0;
        }
    }

    public long Quarantine(string? eventId, string? eventType, string reason, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var insert = Command("""
                INSERT INTO quarantine (event_id, event_type, reason, received_at, body) VALUES ($id, $type, $reason, $now, $body)
                RETURNING id
                """, ("$id", eventId), ("$type", eventType), ("$reason", reason), ("$now", Text(now)), ("$body", body.ToArray()));
            return (long)insert.ExecuteScalar()!;
        }
    }

    public IReadOnlyList<QuarantinedEvent> ListQuarantine(bool includeReplayed = false)
    {
        lock (_gate)
        {
            using var list = Command(includeReplayed
                ? "SELECT id, event_id, event_type, reason, received_at, body, replayed_at FROM quarantine ORDER BY id"
                : "SELECT id, event_id, event_type, reason, received_at, body, replayed_at FROM quarantine WHERE replayed_at IS NULL ORDER BY id");
            return ReadQuarantine(list);
        }
    }

    public QuarantinedEvent? GetQuarantined(long id)
    {
        lock (_gate)
        {
            using var get = Command("SELECT id, event_id, event_type, reason, received_at, body, replayed_at FROM quarantine WHERE id = $id", ("$id", id));
            return ReadQuarantine(get).FirstOrDefault();
        }
    }

    public void MarkReplayed(long id, DateTimeOffset now)
    {
        lock (_gate)
        {
            using var mark = Command("UPDATE quarantine SET replayed_at = $now WHERE id = $id", ("$id", id), ("$now", Text(now)));
            mark.ExecuteNonQuery();
        }
    }

    public SettledAs? GetSettled(string eventId)
    {
        lock (_gate)
        {
            using var get = Command("SELECT state FROM events WHERE event_id = $id", ("$id", eventId));
            return get.ExecuteScalar() switch
            {
                "processed" => SettledAs.Processed,
                "ignored" => SettledAs.Ignored,
                "quarantined" => SettledAs.Quarantined,
                _ => null,
            };
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _claim?.Dispose();
            _state?.Dispose();
            _settle?.Dispose();
            _connection.Dispose();
        }
    }

    private static string StateName(SettledAs how) => how switch
    {
        SettledAs.Processed => "processed",
        SettledAs.Ignored => "ignored",
        SettledAs.Quarantined => "quarantined",
        _ => throw new ArgumentOutOfRangeException(nameof(how)),
    };

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

    private void Execute(string sql)
    {
        using var command = Command(sql);
        command.ExecuteNonQuery();
    }

    private static string Text(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
