using Npgsql;

namespace OnceHub.Webhooks.PostgreSql;

/// <summary>
/// Exactly-once effects: a handler's own writes and the settle of its event commit in one PostgreSQL transaction,
/// so a crash, a lease that ran out or a redelivery to another replica can never apply them twice or lose them.
/// Registered by <c>UsePostgreSql</c>; a handler calls <see cref="HandleOnceAsync"/> and writes through the
/// connection and transaction it is given, to tables of the same database.
/// </summary>
public sealed class PostgreSqlInbox(PostgreSqlEventStore store)
{
    /// <summary>
    /// Opens a transaction, marks <paramref name="received"/> processed in it (with its object's time, see
    /// <see cref="ReceivedEvent.IsStale"/>), runs <paramref name="work"/> in it
    /// and commits both together. Returns false, with nothing written, when the event was already settled by
    /// another delivery (its effect is there already). If <paramref name="work"/> throws, nothing is written and
    /// the exception goes on to the endpoint, which counts a failure as for any handler.
    /// </summary>
    public async Task<bool> HandleOnceAsync(ReceivedEvent received, Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task> work,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(received);
        ArgumentNullException.ThrowIfNull(work);
        await store.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await store.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // The settle comes first: it takes the id's row lock, so a second delivery of the id running the same code
        // waits here for this transaction and then finds the id settled.
        await using (var settle = new NpgsqlCommand($"""
            INSERT INTO "{store.Schema}".events AS e (event_id, event_type, state, lease_until, failures, updated_at)
            VALUES (@id, @type, @processed, NULL, 0, now())
            ON CONFLICT (event_id) DO UPDATE SET state = @processed, lease_until = NULL, updated_at = now()
            WHERE e.state NOT IN (@processed, @ignored)
            RETURNING 1
            """, connection, transaction))
        {
            settle.Parameters.AddWithValue("id", received.Id);
            settle.Parameters.AddWithValue("type", received.Type);
            settle.Parameters.AddWithValue("processed", EventStates.Processed);
            settle.Parameters.AddWithValue("ignored", EventStates.Ignored);
            if (await settle.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                return false;
            }
        }
        // Kept in the same transaction, so a late event of the object is recognised exactly when this one's effect is there.
        if (received.Update is { } update)
        {
            await using var raise = new NpgsqlCommand(store.RaiseObjectTimeSql, connection, transaction);
            raise.Parameters.AddWithValue("object", update.ObjectId);
            raise.Parameters.AddWithValue("time", update.LastUpdatedTime.ToUniversalTime());
            raise.Parameters.AddWithValue("now", DateTimeOffset.UtcNow);
            await raise.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await work(connection, transaction, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }
}
