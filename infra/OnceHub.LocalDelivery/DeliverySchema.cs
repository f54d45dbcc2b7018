using System.Globalization;
using Microsoft.Data.Sqlite;

namespace OnceHub.LocalDelivery;

/// <summary>The delivery store's tables and indexes, and the upgrade of a file an older version wrote.</summary>
internal static class DeliverySchema
{
    public const int Version = 5;

    /// <summary>Brings the file to <see cref="Version"/>, and sets what each connection of the writer needs.</summary>
    /// <exception cref="LocalDeliveryException">A newer version wrote the file.</exception>
    public static void Migrate(SqliteConnection connection, string path)
    {
        var current = Convert.ToInt32(Scalar(connection, "PRAGMA user_version"), CultureInfo.InvariantCulture);
        if (current > Version)
        {
            throw new LocalDeliveryException($"The delivery store '{path}' was written by a newer version (schema {current}); this one reads {Version}.");
        }
        if (current < Version)
        {
            Create(connection);
        }
        // Per connection, unlike the journal mode: NORMAL sync keeps every committed transaction across a killed
        // process (only a power loss could take the last ones); checkpoints are the store's own.
        Execute(connection, "PRAGMA synchronous = NORMAL");
        Execute(connection, "PRAGMA wal_autocheckpoint = 0");
    }

    // An up-to-date file is only read, so processes opening the account together never queue behind each other's
    // schema writes.
    private static void Create(SqliteConnection connection)
    {
        // WAL (kept in the file): readers (deliveries, webhooks list) never block the deliverer. The indexes by status
        // hold pending deliveries only, so a delivery that ends leaves them instead of rewriting a page of them.
        Execute(connection, $"""
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS events (
                id         TEXT PRIMARY KEY,
                type       TEXT NOT NULL,
                body       BLOB NOT NULL,
                created_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS deliveries (
                id          INTEGER PRIMARY KEY,
                event_id    TEXT NOT NULL REFERENCES events(id),
                webhook_id  TEXT NOT NULL,
                status      TEXT NOT NULL,
                first_at    INTEGER NOT NULL,
                next_slot   INTEGER NOT NULL,
                next_due    INTEGER NOT NULL,
                attempts    INTEGER NOT NULL,
                lease_owner TEXT,
                lease_until INTEGER,
                ended_at    INTEGER,
                end_reason  TEXT,
                fanout_id   INTEGER,
                first_sent_at    INTEGER,
                first_status     INTEGER,
                first_latency_ms REAL,
                first_answer     TEXT);
            CREATE INDEX IF NOT EXISTS deliveries_pending_due ON deliveries(next_due) WHERE status = {StateName.PendingSql};
            CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries(event_id);
            DROP INDEX IF EXISTS deliveries_webhook;
            CREATE INDEX IF NOT EXISTS deliveries_webhook_pending ON deliveries(webhook_id) WHERE status = {StateName.PendingSql};
            CREATE TABLE IF NOT EXISTS attempts (
                id                  INTEGER PRIMARY KEY,
                delivery_id         INTEGER NOT NULL,
                event_id            TEXT NOT NULL,
                event_type          TEXT NOT NULL,
                webhook_id          TEXT NOT NULL,
                attempt             INTEGER,
                scheduled_offset_ms INTEGER,
                sent_at             INTEGER NOT NULL,
                outcome             TEXT NOT NULL,
                http_status         INTEGER,
                latency_ms          REAL,
                error               TEXT,
                answer              TEXT);
            CREATE INDEX IF NOT EXISTS attempts_event ON attempts(event_id);
            CREATE TABLE IF NOT EXISTS fanouts (
                id          INTEGER PRIMARY KEY,
                event_id    TEXT NOT NULL,
                webhooks    TEXT NOT NULL,
                first_at    INTEGER NOT NULL,
                lease_owner TEXT NOT NULL,
                lease_until INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS disabled_webhooks (
                webhook_id  TEXT PRIMARY KEY,
                disabled_at INTEGER NOT NULL,
                reason      TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS clock (
                id          INTEGER PRIMARY KEY CHECK (id = 0),
                virtual     INTEGER NOT NULL,
                scale       REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS clock_holds (
                owner       TEXT PRIMARY KEY,
                held_until  INTEGER NOT NULL);
            """);
        // An older file gets the columns it lacks; in a transaction, as another process may be opening it too.
        using var upgrade = connection.BeginTransaction();
        foreach (var (column, type) in new[] { ("fanout_id", "INTEGER"), ("first_sent_at", "INTEGER"), ("first_status", "INTEGER"),
            ("first_latency_ms", "REAL"), ("first_answer", "TEXT") })
        {
            using var has = connection.CreateCommand();
            has.Transaction = upgrade;
            has.CommandText = "SELECT COUNT(*) FROM pragma_table_info('deliveries') WHERE name = $name";
            has.Parameters.AddWithValue("$name", column);
            if (Convert.ToInt32(has.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
            {
                Execute(connection, $"ALTER TABLE deliveries ADD COLUMN {column} {type}", upgrade);
            }
        }
        Execute(connection, $"PRAGMA user_version = {Version}", upgrade);
        upgrade.Commit();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
