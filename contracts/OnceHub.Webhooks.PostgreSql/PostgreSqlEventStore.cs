using Npgsql;

namespace OnceHub.Webhooks.PostgreSql;

/// <summary>
/// <see cref="IEventStore"/> in PostgreSQL: receivers on several machines share one memory of event ids. A claim
/// is one atomic upsert, so two replicas never both start one id while a lease runs; every operation is a
/// statement of its own transaction, and its task completes only once that transaction has committed (with
/// PostgreSQL's defaults, flushed to its write-ahead log). The schema and its tables are created on first use.
/// </summary>
public sealed class PostgreSqlEventStore : IEventStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _schema;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private volatile bool _schemaReady;
    private int _disposed;
    private readonly string _claim;
    private readonly string _state;
    private readonly string _settle;
    private readonly string _fail;
    private readonly string _raiseObjectTime;
    private readonly string _objectTime;
    private readonly string _quarantineColumns;

    /// <param name="connectionString">An Npgsql connection string; the store opens and closes its own pool.</param>
    /// <param name="options">The schema; default <see cref="PostgreSqlEventStoreOptions.DefaultSchema"/>.</param>
    public PostgreSqlEventStore(string connectionString, PostgreSqlEventStoreOptions? options = null)
        : this(NpgsqlDataSource.Create(Check(connectionString)), ownsDataSource: true, options)
    {
    }

    /// <param name="dataSource">The application's data source; the store uses it and leaves it open.</param>
    /// <param name="options">As above.</param>
    public PostgreSqlEventStore(NpgsqlDataSource dataSource, PostgreSqlEventStoreOptions? options = null)
        : this(dataSource, ownsDataSource: false, options)
    {
    }

    private PostgreSqlEventStore(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlEventStoreOptions? options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        options ??= new PostgreSqlEventStoreOptions();
        if (options.SchemaError() is { } error)
        {
            if (ownsDataSource)
            {
                dataSource.Dispose();
            }
            throw new ArgumentException(error, nameof(options));
        }
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _schema = options.Schema;
        var events = $"\"{_schema}\".events";
        // A new id, a failed one or one whose lease ran out (the delivery that held it crashed or hung) is claimed
        // in one statement; a row comes back only when the claim took. A concurrent claim of the same id waits for
        // this one's row lock and then sees the claim.
        _claim = $"""
            INSERT INTO {events} AS e (event_id, event_type, state, lease_until, failures, updated_at)
            VALUES (@id, @type, @in_flight, @lease, 0, @now)
            ON CONFLICT (event_id) DO UPDATE SET state = @in_flight, lease_until = @lease, updated_at = @now
            WHERE e.state = @failed OR (e.state = @in_flight AND (e.lease_until IS NULL OR e.lease_until <= @now))
            RETURNING 1
            """;
        _state = $"SELECT state FROM {events} WHERE event_id = @id";
        _settle = $"""
            INSERT INTO {events} AS e (event_id, event_type, state, lease_until, failures, updated_at)
            VALUES (@id, @type, @state, NULL, 0, @now)
            ON CONFLICT (event_id) DO UPDATE SET state = @state, lease_until = NULL, updated_at = @now
            """;
        _fail = $"""
            UPDATE {events} SET state = @failed, lease_until = NULL, failures = failures + @add, updated_at = @now
            WHERE event_id = @id AND state IN (@failed, @in_flight) RETURNING failures
            """;
        // GREATEST keeps the later time whatever order concurrent settles of one object commit in, on any replica.
        _raiseObjectTime = $"""
            INSERT INTO "{_schema}".object_times AS o (object_id, last_updated_time, settled_at) VALUES (@object, @time, @now)
            ON CONFLICT (object_id) DO UPDATE SET last_updated_time = GREATEST(o.last_updated_time, EXCLUDED.last_updated_time),
                settled_at = GREATEST(o.settled_at, EXCLUDED.settled_at)
            """;
        _objectTime = $"SELECT last_updated_time FROM \"{_schema}\".object_times WHERE object_id = @object";
        _quarantineColumns = $"SELECT id, event_id, event_type, reason, received_at, body, replayed_at FROM \"{_schema}\".quarantine";
    }

    /// <summary>
    /// Creates the schema and tables when missing (under an advisory lock, so replicas starting together do not
    /// collide). Every operation calls it first; a host may call it at startup to fail early.
    /// </summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken = default)
    {
        if (_schemaReady)
        {
            return;
        }
        await _schemaGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_schemaReady)
            {
                await PostgreSqlSchema.CreateAsync(_dataSource, _schema, cancellationToken).ConfigureAwait(false);
                _schemaReady = true;
            }
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    internal NpgsqlDataSource DataSource => _dataSource;

    internal string Schema => _schema;

    /// <summary>The statement that keeps an object's newest time (parameters <c>object</c>, <c>time</c>, <c>now</c>).</summary>
    internal string RaiseObjectTimeSql => _raiseObjectTime;

    public async ValueTask<BeginOutcome> TryBeginAsync(string eventId, string eventType, DateTimeOffset now, DateTimeOffset leaseUntil)
    {
        await EnsureSchemaAsync().ConfigureAwait(false);
        // The claim and the read of the state travel together and commit as one implicit transaction.
        await using var batch = _dataSource.CreateBatch();
        var claim = new NpgsqlBatchCommand(_claim);
        claim.Parameters.AddWithValue("id", eventId);
        claim.Parameters.AddWithValue("type", eventType);
        claim.Parameters.AddWithValue("in_flight", EventStates.InFlight);
        claim.Parameters.AddWithValue("failed", EventStates.Failed);
        claim.Parameters.AddWithValue("lease", leaseUntil.ToUniversalTime());
        claim.Parameters.AddWithValue("now", now.ToUniversalTime());
        var state = new NpgsqlBatchCommand(_state);
        state.Parameters.AddWithValue("id", eventId);
        batch.BatchCommands.Add(claim);
        batch.BatchCommands.Add(state);
        bool claimed;
        string? current = null;
        await using (var reader = await batch.ExecuteReaderAsync().ConfigureAwait(false))
        {
            claimed = await reader.ReadAsync().ConfigureAwait(false);
            await reader.NextResultAsync().ConfigureAwait(false);
            if (await reader.ReadAsync().ConfigureAwait(false))
            {
                current = reader.GetString(0);
            }
        }
        // Disposing the reader read up to the server's ready-for-query: the commit is done before anyone is told.
        if (claimed)
        {
            return BeginOutcome.Started;
        }
        // Not claimed: settled before, or another delivery holds a live lease.
        return current is EventStates.InFlight or EventStates.Failed ? BeginOutcome.InFlight : BeginOutcome.AlreadyDone;
    }

    public ValueTask SettleAsync(string eventId, string eventType, SettledAs how, DateTimeOffset now) =>
        SettleAsync(eventId, eventType, how, now, update: null);

    public async ValueTask SettleAsync(string eventId, string eventType, SettledAs how, DateTimeOffset now, ObjectUpdate? update)
    {
        await EnsureSchemaAsync().ConfigureAwait(false);
        // One batch is one implicit transaction: the object's time is kept exactly when the settle is.
        await using var batch = _dataSource.CreateBatch();
        var settle = new NpgsqlBatchCommand(_settle);
        settle.Parameters.AddWithValue("id", eventId);
        settle.Parameters.AddWithValue("type", eventType);
        settle.Parameters.AddWithValue("state", EventStates.Name(how));
        settle.Parameters.AddWithValue("now", now.ToUniversalTime());
        batch.BatchCommands.Add(settle);
        if (update is not null)
        {
            batch.BatchCommands.Add(RaiseObjectTime(update, now));
        }
        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public async ValueTask<DateTimeOffset?> GetLastUpdatedTimeAsync(string objectId)
    {
        await using var read = await CommandAsync(_objectTime).ConfigureAwait(false);
        read.Parameters.AddWithValue("object", objectId);
        return await read.ExecuteScalarAsync().ConfigureAwait(false) switch
        {
            DateTime utc => new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)),
            _ => null,
        };
    }

    private NpgsqlBatchCommand RaiseObjectTime(ObjectUpdate update, DateTimeOffset now)
    {
        var raise = new NpgsqlBatchCommand(_raiseObjectTime);
        raise.Parameters.AddWithValue("object", update.ObjectId);
        raise.Parameters.AddWithValue("time", update.LastUpdatedTime.ToUniversalTime());
        raise.Parameters.AddWithValue("now", now.ToUniversalTime());
        return raise;
    }

    public async ValueTask<int> RecordFailureAsync(string eventId, DateTimeOffset now, bool counts = true)
    {
        await using var fail = await CommandAsync(_fail).ConfigureAwait(false);
        fail.Parameters.AddWithValue("id", eventId);
        fail.Parameters.AddWithValue("failed", EventStates.Failed);
        // A handler that settled the id in its own transaction (the inbox) and failed afterwards leaves it settled.
        fail.Parameters.AddWithValue("in_flight", EventStates.InFlight);
        fail.Parameters.AddWithValue("add", counts ? 1 : 0);
        fail.Parameters.AddWithValue("now", now.ToUniversalTime());
        return await fail.ExecuteScalarAsync().ConfigureAwait(false) is int failures ? failures : 0;
    }

    public async ValueTask<long> QuarantineAsync(string? eventId, string? eventType, string reason, ReadOnlyMemory<byte> body, DateTimeOffset now)
    {
        await using var insert = await CommandAsync($"""
            INSERT INTO "{_schema}".quarantine (event_id, event_type, reason, received_at, body)
            VALUES (@id, @type, @reason, @now, @body) RETURNING id
            """).ConfigureAwait(false);
        insert.Parameters.AddWithValue("id", (object?)eventId ?? DBNull.Value);
        insert.Parameters.AddWithValue("type", (object?)eventType ?? DBNull.Value);
        insert.Parameters.AddWithValue("reason", reason);
        insert.Parameters.AddWithValue("now", now.ToUniversalTime());
        // A copy now: the caller may reuse its buffer once this returns, and the parameter is sent later.
        insert.Parameters.AddWithValue("body", body.ToArray());
        return (long)(await insert.ExecuteScalarAsync().ConfigureAwait(false))!;
    }

    public async ValueTask<IReadOnlyList<QuarantinedEvent>> ListQuarantineAsync(bool includeReplayed = false)
    {
        await using var list = await CommandAsync(includeReplayed
            ? $"{_quarantineColumns} ORDER BY id"
            : $"{_quarantineColumns} WHERE replayed_at IS NULL ORDER BY id").ConfigureAwait(false);
        return await ReadQuarantineAsync(list).ConfigureAwait(false);
    }

    public async ValueTask<QuarantinedEvent?> GetQuarantinedAsync(long id)
    {
        await using var get = await CommandAsync($"{_quarantineColumns} WHERE id = @id").ConfigureAwait(false);
        get.Parameters.AddWithValue("id", id);
        return (await ReadQuarantineAsync(get).ConfigureAwait(false)).FirstOrDefault();
    }

    public async ValueTask MarkReplayedAsync(long id, DateTimeOffset now)
    {
        await using var mark = await CommandAsync($"UPDATE \"{_schema}\".quarantine SET replayed_at = @now WHERE id = @id").ConfigureAwait(false);
        mark.Parameters.AddWithValue("id", id);
        mark.Parameters.AddWithValue("now", now.ToUniversalTime());
        await mark.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public async ValueTask<bool> DeleteQuarantinedAsync(long id)
    {
        await using var delete = await CommandAsync($"DELETE FROM \"{_schema}\".quarantine WHERE id = @id").ConfigureAwait(false);
        delete.Parameters.AddWithValue("id", id);
        return await delete.ExecuteNonQueryAsync().ConfigureAwait(false) == 1;
    }

    public async ValueTask<int> PurgeSettledAsync(DateTimeOffset settledBefore, int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // Rows another replica's purge holds are skipped rather than waited for: it is forgetting them already.
        await using var purge = await CommandAsync($"""
            DELETE FROM "{_schema}".events WHERE event_id IN (
                SELECT event_id FROM "{_schema}".events
                WHERE state IN ({EventStates.SettledList}) AND updated_at < @before
                ORDER BY updated_at LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            """).ConfigureAwait(false);
        purge.Parameters.AddWithValue("before", settledBefore.ToUniversalTime());
        purge.Parameters.AddWithValue("limit", limit);
        var forgotten = await purge.ExecuteNonQueryAsync().ConfigureAwait(false);
        return forgotten < limit ? forgotten + await PurgeObjectTimesAsync(settledBefore, limit - forgotten).ConfigureAwait(false) : forgotten;
    }

    private async Task<int> PurgeObjectTimesAsync(DateTimeOffset settledBefore, int limit)
    {
        await using var purge = await CommandAsync($"""
            DELETE FROM "{_schema}".object_times WHERE object_id IN (
                SELECT object_id FROM "{_schema}".object_times WHERE settled_at < @before
                ORDER BY settled_at LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            """).ConfigureAwait(false);
        purge.Parameters.AddWithValue("before", settledBefore.ToUniversalTime());
        purge.Parameters.AddWithValue("limit", limit);
        return await purge.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public async ValueTask<SettledAs?> GetSettledAsync(string eventId)
    {
        await using var state = await CommandAsync(_state).ConfigureAwait(false);
        state.Parameters.AddWithValue("id", eventId);
        return EventStates.Settled(await state.ExecuteScalarAsync().ConfigureAwait(false));
    }

    /// <summary>Closes the store's own pool; a data source passed in stays open.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }
        _schemaGate.Dispose();
    }

    private async ValueTask<NpgsqlCommand> CommandAsync(string sql)
    {
        await EnsureSchemaAsync().ConfigureAwait(false);
        return _dataSource.CreateCommand(sql);
    }

    private static async Task<List<QuarantinedEvent>> ReadQuarantineAsync(NpgsqlCommand command)
    {
        var found = new List<QuarantinedEvent>();
        await using var row = await command.ExecuteReaderAsync().ConfigureAwait(false);
        while (await row.ReadAsync().ConfigureAwait(false))
        {
            found.Add(new QuarantinedEvent(row.GetInt64(0), row.IsDBNull(1) ? null : row.GetString(1), row.IsDBNull(2) ? null : row.GetString(2),
                row.GetString(3), row.GetFieldValue<DateTimeOffset>(4), row.GetFieldValue<byte[]>(5),
                row.IsDBNull(6) ? null : row.GetFieldValue<DateTimeOffset>(6)));
        }
        return found;
    }

    private static string Check(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        return connectionString;
    }
}
