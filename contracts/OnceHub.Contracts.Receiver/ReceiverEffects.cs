using Npgsql;
using OnceHub.Webhooks;
using OnceHub.Webhooks.PostgreSql;

namespace OnceHub.Contracts.Receiver;

/// <summary>
/// The reference receiver's own effect, to check exactly-once handling end to end: one row per handled event in
/// the table <see cref="Table"/> of the store's PostgreSQL database, written in the transaction that settles the
/// event (<see cref="PostgreSqlInbox"/>), so a row exists exactly once per event whatever was killed when.
/// </summary>
internal static class ReceiverEffects
{
    public const string Table = "oncehub_reference_effects";

    // Receivers starting together each create the table: the lock lets one create while the others wait.
    private const int LockSpace = 0x0E1C_4B5E;

    public static async Task CreateTableAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var create = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({LockSpace}, 0);
            CREATE TABLE IF NOT EXISTS {Table} (event_id text NOT NULL, event_type text NOT NULL, handled_at timestamptz NOT NULL DEFAULT now())
            """, connection, transaction))
        {
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Writes the effect row, then runs <paramref name="then"/>, both in the event's settle transaction.</summary>
    public static Func<ReceivedEvent, CancellationToken, Task> Handler(PostgreSqlInbox inbox, Func<ReceivedEvent, CancellationToken, Task>? then) =>
        (received, cancellationToken) => inbox.HandleOnceAsync(received, async (connection, transaction, ct) =>
        {
            await using (var insert = new NpgsqlCommand($"INSERT INTO {Table} (event_id, event_type) VALUES (@id, @type)", connection, transaction))
            {
                insert.Parameters.AddWithValue("id", received.Id);
                insert.Parameters.AddWithValue("type", received.Type);
                await insert.ExecuteNonQueryAsync(ct);
            }
            if (then is not null)
            {
                await then(received, ct);
            }
        }, cancellationToken);
}
