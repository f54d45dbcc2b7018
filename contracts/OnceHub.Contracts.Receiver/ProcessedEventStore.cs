using Microsoft.Data.Sqlite;

namespace OnceHub.Contracts.Receiver;

/// <summary>
/// The ids of events already processed, kept in SQLite so that a redelivery, even after a restart,
/// is acknowledged without being processed twice.
/// </summary>
public sealed class ProcessedEventStore : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _insert;
    private readonly SqliteCommand _forget;
    // One connection, one writer at a time: SQLite serialises writes anyway, and this avoids busy retries.
    private readonly Lock _gate = new();

    /// <param name="databasePath">A file path, or null for an in-memory store that lasts as long as this object.</param>
    public ProcessedEventStore(string? databasePath)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = databasePath ?? ":memory:",
            Mode = databasePath is null ? SqliteOpenMode.Memory : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        };
        _connection = new SqliteConnection(builder.ToString());
        _connection.Open();
        using (var setup = _connection.CreateCommand())
        {
            setup.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = NORMAL;
                CREATE TABLE IF NOT EXISTS processed_events (
                    event_id    TEXT PRIMARY KEY,
                    event_type  TEXT NOT NULL,
                    received_at TEXT NOT NULL
                );
                """;
            setup.ExecuteNonQuery();
        }
        _insert = _connection.CreateCommand();
        // INSERT OR IGNORE makes "first time we see this id" a single atomic step.
        _insert.CommandText = "INSERT OR IGNORE INTO processed_events (event_id, event_type, received_at) VALUES ($id, $type, $at)";
        _insert.Parameters.Add("$id", SqliteType.Text);
        _insert.Parameters.Add("$type", SqliteType.Text);
        _insert.Parameters.Add("$at", SqliteType.Text);
        _insert.Prepare();
        _forget = _connection.CreateCommand();
        _forget.CommandText = "DELETE FROM processed_events WHERE event_id = $id";
        _forget.Parameters.Add("$id", SqliteType.Text);
        _forget.Prepare();
    }

    /// <summary>Records the id; true when it is new (process the event), false for a duplicate.</summary>
    public bool TryRecord(string eventId, string eventType)
    {
        lock (_gate)
        {
            _insert.Parameters[0].Value = eventId;
            _insert.Parameters[1].Value = eventType;
            _insert.Parameters[2].Value = DateTimeOffset.UtcNow.ToString("O");
            return _insert.ExecuteNonQuery() == 1;
        }
    }

    /// <summary>Undoes <see cref="TryRecord"/> when processing failed, so OnceHub's retry is processed.</summary>
    public void Forget(string eventId)
    {
        lock (_gate)
        {
            _forget.Parameters[0].Value = eventId;
            _forget.ExecuteNonQuery();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _insert.Dispose();
            _forget.Dispose();
            _connection.Dispose();
        }
    }
}
