using Microsoft.Data.Sqlite;
using OnceHub.Sqlite;

namespace OnceHub.LocalDelivery;

/// <summary>
/// The local account's delivery queue and log: <c>deliveries.db</c> (SQLite, WAL) in the account folder, beside
/// the account's JSON file, which keeps only what the API returns. Every state change is atomic, so a process
/// killed at any point leaves each delivery either before or after an attempt; a delivery whose attempt was in
/// flight is retried (at-least-once; receivers de-duplicate by event id). Several processes may share the folder:
/// a delivery is leased (real time) to the process sending its attempt. Times are stored as Unix milliseconds on
/// the delivering clock (see <see cref="DeliveryTime"/>).
/// </summary>
/// <remarks>
/// This file opens and closes the store; the fan-out lifecycle (<c>DeliveryStore.Lifecycle.cs</c>) and the reads
/// (<c>DeliveryStore.Queries.cs</c>) are beside it, the tables in <see cref="DeliverySchema"/>. The writes of a
/// fan-out go through one writer thread (<see cref="SqliteWriter"/>) and are awaited, so that no pool thread
/// blocks on SQLite while the sends' continuations wait for one.
/// </remarks>
public sealed partial class DeliveryStore : IDisposable
{
    public const string FileName = "deliveries.db";
    // Webhook ids never hold a line break (the account's rules), so a fan-out's list is one text column.
    private const char WebhookSeparator = '\n';
    // How long any statement waits for another process's lock before it fails.
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(60);
    private const int MaxWritesPerTransaction = 32;
    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromSeconds(1);

    private readonly SqliteConnection _connection;
    private readonly StatementCache _statements;
    // The rows written for every delivery, bound by position (see RawStatement).
    private readonly RawStatement _insertEvent;
    private readonly RawStatement _insertFanOut;
    private readonly RawStatement _insertDelivery;
    private readonly RawStatement _insertLog;
    private readonly DisabledWebhooks _disabled;
    private readonly SqliteWriter _writer;

    /// <exception cref="LocalDeliveryException">The store cannot be opened; the message names the file.</exception>
    public DeliveryStore(string accountDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(accountDirectory);
        Path = System.IO.Path.Combine(System.IO.Path.GetFullPath(accountDirectory), FileName);
        WalCheckpoints? checkpoints = null;
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            // The queue holds every payload sent: owner-only, like the account file.
            OwnerOnlyFile.CreateIfMissing(Path);
            _connection = Open(Path);
            DeliverySchema.Migrate(_connection, Path);
            _statements = new StatementCache(_connection);
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
            _disabled = new DisabledWebhooks(Open(Path));
            checkpoints = new WalCheckpoints(Path, CheckpointEvery);
            _writer = new SqliteWriter(_connection, nameof(DeliveryStore), MaxWritesPerTransaction, checkpoints, _disabled.AfterTransaction);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            checkpoints?.Dispose();
            _insertEvent?.Dispose();
            _insertFanOut?.Dispose();
            _insertDelivery?.Dispose();
            _insertLog?.Dispose();
            _statements?.Dispose();
            _disabled?.Dispose();
            _connection?.Dispose();
            throw new LocalDeliveryException($"Cannot open the delivery store '{Path}': {ex.Message}", ex);
        }
    }

    public string Path { get; }

    /// <summary>Waits for the writes already queued, then closes the file.</summary>
    public void Dispose()
    {
        _writer.Dispose();
        _disabled.Dispose();
        _writer.Exclusive(() =>
        {
            _statements.Dispose();
            _insertEvent.Dispose();
            _insertFanOut.Dispose();
            _insertDelivery.Dispose();
            _insertLog.Dispose();
            _connection.Dispose();
            return 0;
        });
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
}
