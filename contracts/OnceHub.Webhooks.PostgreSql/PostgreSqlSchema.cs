using Npgsql;

namespace OnceHub.Webhooks.PostgreSql;

/// <summary>
/// Creates the store's schema and tables when they are missing. Replicas starting together each run it: a
/// transaction-scoped advisory lock lets one create while the others wait and then find everything there.
/// </summary>
internal static class PostgreSqlSchema
{
    // The first key of the advisory lock, so the store's lock does not meet an application's own locks.
    private const int LockSpace = 0x0E1C_4B5D;

    public static async Task CreateAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({LockSpace}, hashtext(@schema));
            CREATE SCHEMA IF NOT EXISTS "{schema}";
            CREATE TABLE IF NOT EXISTS "{schema}".events (
                event_id    text PRIMARY KEY,
                event_type  text NOT NULL,
                state       text NOT NULL,
                lease_until timestamptz,
                failures    integer NOT NULL DEFAULT 0,
                updated_at  timestamptz NOT NULL
            );
            CREATE TABLE IF NOT EXISTS "{schema}".quarantine (
                id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_id    text,
                event_type  text,
                reason      text NOT NULL,
                received_at timestamptz NOT NULL,
                body        bytea NOT NULL,
                replayed_at timestamptz
            );
            -- An index made before a settled state was added names fewer states, and the purge could not use it.
            -- Its definition is read by oid: pg_indexes would read every index's, including those other
            -- sessions are dropping at that moment, which fails the whole statement.
            DO $migrate$ DECLARE settled_index regclass := to_regclass('"{schema}".events_settled_at'); BEGIN
                IF settled_index IS NOT NULL AND pg_get_indexdef(settled_index) NOT LIKE '%''{EventStates.Skipped}''%' THEN
                    DROP INDEX "{schema}".events_settled_at;
                END IF;
            END $migrate$;
            -- Purging settled ids oldest first reads this instead of the whole table.
            CREATE INDEX IF NOT EXISTS events_settled_at ON "{schema}".events (updated_at)
                WHERE state IN ({EventStates.SettledList});
            -- The newest last_updated_time settled per booking or conversation; settled_at is for the purge.
            CREATE TABLE IF NOT EXISTS "{schema}".object_times (
                object_id         text PRIMARY KEY,
                last_updated_time timestamptz NOT NULL,
                settled_at        timestamptz NOT NULL
            );
            CREATE INDEX IF NOT EXISTS object_times_settled_at ON "{schema}".object_times (settled_at);
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("schema", schema);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
