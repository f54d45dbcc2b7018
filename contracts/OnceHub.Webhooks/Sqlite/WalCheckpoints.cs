using Microsoft.Data.Sqlite;

namespace OnceHub.Sqlite;

/// <summary>
/// Keeps a WAL database's log bounded without putting the copy into its writer's path. A timer checkpoints
/// (PASSIVE) on a connection of its own, which copies the bulk of the log and does the fsync. The log only starts
/// over at a write transaction that begins with every frame copied, which under constant writes never happens on
/// its own, so once the log is large the writer copies the frames written meanwhile between two of its
/// transactions (<see cref="FinishOnWriter"/>); below <see cref="DefaultFinishAboveBytes"/> the writer is never
/// paused for it.
/// </summary>
internal sealed class WalCheckpoints : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Timer _timer;
    private readonly Lock _gate = new();
    public const long DefaultFinishAboveBytes = 32L << 20;
    // A WAL frame is a page and a 24-byte header.
    private const long FrameHeaderBytes = 24;
    private readonly long _pageSize;
    private readonly long _finishAboveBytes;
    private int _finish;
    private bool _disposed;

    /// <param name="databasePath">The database file; this object opens a connection of its own to it.</param>
    /// <param name="every">How often the background checkpoint runs.</param>
    /// <param name="finishAboveBytes">Log size above which the writer is asked to finish a checkpoint.</param>
    public WalCheckpoints(string databasePath, TimeSpan every, long finishAboveBytes = DefaultFinishAboveBytes)
    {
        _finishAboveBytes = finishAboveBytes;
        // No busy timeout: a PASSIVE checkpoint never waits for other connections.
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = databasePath,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());
        try
        {
            _connection.Open();
            using var size = _connection.CreateCommand();
            size.CommandText = "PRAGMA page_size";
            _pageSize = (long)size.ExecuteScalar()!;
        }
        catch
        {
            // A constructor that fails leaves no connection open.
            _connection.Dispose();
            throw;
        }
        _timer = new Timer(_ => Checkpoint(), null, every, every);
    }

    /// <summary>
    /// On the writer's thread and connection, with no transaction open: copies what the last background
    /// checkpoint left (nothing to do when it left nothing).
    /// </summary>
    public void FinishOnWriter(SqliteConnection writer)
    {
        if (Interlocked.Exchange(ref _finish, 0) == 0)
        {
            return;
        }
        try
        {
            Run(writer);
        }
        catch (SqliteException)
        {
            // Not thrown on: busy (another connection checkpointing) or a transient I/O error. The next background
            // checkpoint asks again, and the log only grows meanwhile; nothing is lost.
        }
    }

    private void Checkpoint()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            try
            {
                // Even a checkpoint that copied every frame needs the writer once the log is large: the
                // transaction it has open will add frames before its next one begins, and the log only starts
                // over at a transaction that begins with every frame copied.
                if (Run(_connection).Log * (_pageSize + FrameHeaderBytes) > _finishAboveBytes)
                {
                    Volatile.Write(ref _finish, 1);
                }
            }
            catch (SqliteException)
            {
                // As above: the next tick tries again.
            }
        }
    }

    /// <summary>A PASSIVE checkpoint: frames in the log and frames copied into the database.</summary>
    private static (long Log, long Copied) Run(SqliteConnection connection)
    {
        using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE)";
        using var result = checkpoint.ExecuteReader();
        return result.Read() ? (result.GetInt64(1), result.GetInt64(2)) : (0, 0);
    }

    public void Dispose()
    {
        _timer.Dispose();
        lock (_gate)
        {
            _disposed = true;
            _connection.Dispose();
        }
    }
}
