using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace OnceHub.LocalDelivery;

/// <summary>
/// An INSERT prepared once on a <see cref="SqliteConnection"/>'s own handle and bound by position: the rows a
/// fan-out writes for every delivery, without the by-name binding and the reader that
/// <see cref="SqliteCommand"/> sets up for every run. Runs inside the
/// connection's transaction like any command; used only under the owner's lock, one run at a time.
/// </summary>
internal sealed class RawStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public RawStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        var rc = raw.sqlite3_prepare_v2(_db, sql, out _statement);
        if (rc != raw.SQLITE_OK)
        {
            throw Failure(rc);
        }
    }

    public RawStatement Bind(int position, long value)
    {
        Check(raw.sqlite3_bind_int64(_statement, position, value));
        return this;
    }

    public RawStatement Bind(int position, long? value) =>
        value is { } v ? Bind(position, v) : BindNull(position);

    public RawStatement Bind(int position, double? value)
    {
        Check(value is { } v ? raw.sqlite3_bind_double(_statement, position, v) : raw.sqlite3_bind_null(_statement, position));
        return this;
    }

    public RawStatement Bind(int position, string? value)
    {
        Check(value is null ? raw.sqlite3_bind_null(_statement, position) : raw.sqlite3_bind_text(_statement, position, value));
        return this;
    }

    public RawStatement Bind(int position, ReadOnlySpan<byte> value)
    {
        Check(raw.sqlite3_bind_blob(_statement, position, value));
        return this;
    }

    private RawStatement BindNull(int position)
    {
        Check(raw.sqlite3_bind_null(_statement, position));
        return this;
    }

    /// <summary>Runs the INSERT and returns the new row's rowid.</summary>
    public long Insert()
    {
        var rc = raw.sqlite3_step(_statement);
        // Reset at once: a statement left mid-run would hold the table open for the connection's other statements.
        raw.sqlite3_reset(_statement);
        if (rc != raw.SQLITE_DONE)
        {
            throw Failure(rc);
        }
        return raw.sqlite3_last_insert_rowid(_db);
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Failure(rc);
        }
    }

    private SqliteException Failure(int rc) =>
        new($"SQLite Error {rc}: '{raw.sqlite3_errmsg(_db).utf8_to_string()}'.", rc);

    public void Dispose() => _statement.Dispose();
}
