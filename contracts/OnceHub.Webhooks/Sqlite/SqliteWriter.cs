using Microsoft.Data.Sqlite;

namespace OnceHub.Sqlite;

/// <summary>
/// The one thread that writes through a SQLite connection, so that no caller's thread waits on the disk. Each
/// transaction carries every write that queued while the previous one committed (group commit), and a write is
/// answered only once the transaction that ran it has committed: an answer given before could be forgotten by a
/// crash after it. One write's failure fails it alone. Between two transactions the writer finishes the WAL
/// checkpoint it is asked to (<see cref="WalCheckpoints"/>).
/// </summary>
/// <remarks>Compiled into each assembly that stores in SQLite; internal to each.</remarks>
internal sealed class SqliteWriter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Lock _connectionGate = new();
    private readonly WalCheckpoints? _checkpoints;
    private readonly int _maxBatch;
    private readonly Action? _afterTransaction;
    private readonly string _owner;
    private readonly object _queueGate = new();
    // Writes that a caller waits on before it can start other work go first.
    private readonly Queue<Write> _ahead = new();
    private readonly Queue<Write> _queue = new();
    private bool _closed;
    private int _unfinished;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly Thread _thread;

    /// <param name="connection">Open; the caller keeps it and closes it after this writer.</param>
    /// <param name="owner">Names the thread and the object a write after <see cref="Dispose"/> was refused by.</param>
    /// <param name="maxBatch">Most writes one transaction carries.</param>
    /// <param name="checkpoints">Taken over: disposed with this writer.</param>
    /// <param name="afterTransaction">Run on the writer's thread after each transaction ends, committed or not.</param>
    public SqliteWriter(SqliteConnection connection, string owner, int maxBatch, WalCheckpoints? checkpoints, Action? afterTransaction = null)
    {
        _connection = connection;
        _owner = owner;
        _maxBatch = maxBatch;
        _checkpoints = checkpoints;
        _afterTransaction = afterTransaction;
        _begin = Prepare("BEGIN IMMEDIATE");
        _commit = Prepare("COMMIT");
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = $"{owner} writer" };
        _thread.Start();
    }

    /// <summary>Queues <paramref name="work"/> for the writer's next transaction; completes once that has committed.</summary>
    /// <param name="work">Statements on the connection, in the writer's transaction.</param>
    /// <param name="ahead">Before the writes queued without it.</param>
    public Task<T> EnqueueAsync<T>(Func<T> work, bool ahead = false)
    {
        var write = new Write<T>(work);
        lock (_queueGate)
        {
            if (_closed)
            {
                throw new ObjectDisposedException(_owner);
            }
            (ahead ? _ahead : _queue).Enqueue(write);
            Interlocked.Increment(ref _unfinished);
            Monitor.Pulse(_queueGate);
        }
        return write.Task;
    }

    /// <summary>Blocks until every write queued so far is answered, so that a read sees them.</summary>
    public void WaitForQueuedWrites()
    {
        if (Volatile.Read(ref _unfinished) > 0 && Thread.CurrentThread != _thread)
        {
            EnqueueAsync(static () => 0).Wait();
        }
    }

    /// <summary>Runs <paramref name="work"/> on the calling thread in a transaction of its own, between two of the writer's.</summary>
    public T InTransaction<T>(Func<T> work)
    {
        lock (_connectionGate)
        {
            _begin.ExecuteNonQuery();
            try
            {
                var result = work();
                _commit.ExecuteNonQuery();
                return result;
            }
            catch
            {
                Rollback();
                throw;
            }
        }
    }

    /// <summary>Runs <paramref name="work"/> on the calling thread with the connection to itself, outside any transaction.</summary>
    public T Exclusive<T>(Func<T> work)
    {
        lock (_connectionGate)
        {
            return work();
        }
    }

    /// <summary>Answers the writes already queued, then stops the thread (the connection stays open).</summary>
    public void Dispose()
    {
        lock (_queueGate)
        {
            if (_closed)
            {
                return;
            }
            _closed = true;
            Monitor.PulseAll(_queueGate);
        }
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
        _checkpoints?.Dispose();
        lock (_connectionGate)
        {
            _begin.Dispose();
            _commit.Dispose();
        }
    }

    private abstract class Write
    {
        public Exception? Error { get; set; }

        public abstract void Execute();

        /// <summary>Hands the result, or <see cref="Error"/>, to the caller.</summary>
        public abstract void Answer();
    }

    private sealed class Write<T>(Func<T> work) : Write
    {
        // Continuations run on the pool, never on the writer's thread, which must get back to the queue.
        private readonly TaskCompletionSource<T> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _done.Task;

        public override void Execute() => _result = work();

        public override void Answer()
        {
            if (Error is null)
            {
                _done.TrySetResult(_result);
            }
            else
            {
                _done.TrySetException(Error);
            }
        }
    }

    /// <summary>Takes the writes queued, those ahead first, up to the batch size; false once closed and drained.</summary>
    private bool NextBatch(List<Write> batch)
    {
        batch.Clear();
        lock (_queueGate)
        {
            while (_ahead.Count == 0 && _queue.Count == 0)
            {
                if (_closed)
                {
                    return false;
                }
                Monitor.Wait(_queueGate);
            }
            while (batch.Count < _maxBatch && (_ahead.TryDequeue(out var write) || _queue.TryDequeue(out write)))
            {
                batch.Add(write);
            }
            return true;
        }
    }

    private void WriteLoop()
    {
        var batch = new List<Write>(_maxBatch);
        while (NextBatch(batch))
        {
            var answered = false;
            lock (_connectionGate)
            {
                _checkpoints?.FinishOnWriter(_connection);
                if (Transaction(batch, out var inWrite) is { } error)
                {
                    if (batch.Count == 1 || !inWrite)
                    {
                        // The transaction itself failed (a lock not granted in time, a failed commit): running each
                        // write alone would only wait for the lock again, once per write.
                        foreach (var write in batch)
                        {
                            write.Error = error;
                        }
                    }
                    else
                    {
                        // One write's failure must not fail the others: each gets a transaction of its own and is
                        // answered at once, so that a later write of the batch sees an earlier one's failure.
                        foreach (var write in batch)
                        {
                            write.Error = Transaction([write], out _);
                            _afterTransaction?.Invoke();
                            Answer(write);
                        }
                        answered = true;
                    }
                }
                if (!answered)
                {
                    _afterTransaction?.Invoke();
                }
            }
            if (!answered)
            {
                foreach (var write in batch)
                {
                    Answer(write);
                }
            }
        }
    }

    private void Answer(Write write)
    {
        Interlocked.Decrement(ref _unfinished);
        write.Answer();
    }

    /// <summary>
    /// Runs the writes in one transaction; the error that undid it, or null once committed. <paramref name="inWrite"/>
    /// tells a write's own failure from one of the transaction (begin or commit).
    /// </summary>
    private Exception? Transaction(List<Write> writes, out bool inWrite)
    {
        inWrite = false;
        try
        {
            _begin.ExecuteNonQuery();
            inWrite = true;
            foreach (var write in writes)
            {
                write.Execute();
            }
            inWrite = false;
            _commit.ExecuteNonQuery();
            return null;
        }
        catch (Exception error)
        {
            Rollback();
            return error;
        }
    }

    // After a failed statement SQLite may have ended the transaction itself; a rollback then has nothing to undo.
    private void Rollback()
    {
        try
        {
            if (SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0)
            {
                using var rollback = _connection.CreateCommand();
                rollback.CommandText = "ROLLBACK";
                rollback.ExecuteNonQuery();
            }
        }
        catch (SqliteException)
        {
            // Not thrown on: the writes already carry the error that led here, and the writer must live on for the
            // next batch (SQLite undoes what is left when the connection closes).
        }
    }

    private SqliteCommand Prepare(string sql)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.Prepare();
        return command;
    }
}
