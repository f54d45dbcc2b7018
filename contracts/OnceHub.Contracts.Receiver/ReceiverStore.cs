using Npgsql;
using OnceHub.Account;
using OnceHub.Webhooks;
using OnceHub.Webhooks.PostgreSql;

namespace OnceHub.Contracts.Receiver;

/// <summary>
/// Where the reference receiver keeps event ids and its quarantine, as <c>--store</c> names it: <c>memory</c>
/// (forgotten on restart), <c>sqlite:PATH</c> (a file, kept across restarts) or <c>postgres:CONNECTION</c> (a
/// PostgreSQL database that several receivers share). The one place a store is named and opened, so a new kind
/// is one more case here.
/// </summary>
public sealed record ReceiverStore
{
    public const string MemoryName = "memory";
    public const string SqlitePrefix = "sqlite:";
    public const string PostgresPrefix = "postgres:";

    private ReceiverStore(string? sqlitePath, string? postgresConnection)
    {
        SqlitePath = sqlitePath;
        PostgresConnection = postgresConnection;
    }

    /// <summary>Ids in process memory: a restart forgets them, so redeliveries are handled again.</summary>
    public static ReceiverStore Memory { get; } = new(sqlitePath: null, postgresConnection: null);

    /// <summary>A SQLite file (WAL), created readable by its owner only; a relative path is the caller's.</summary>
    public static ReceiverStore Sqlite(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new ReceiverStore(UserPath.Resolve(path), postgresConnection: null);
    }

    /// <summary>A PostgreSQL database (an Npgsql connection string), shared by every receiver pointed at it.</summary>
    /// <exception cref="ArgumentException">Not a connection string Npgsql reads; the message names the keyword.</exception>
    public static ReceiverStore Postgres(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _ = new NpgsqlConnectionStringBuilder(connectionString);
        return new ReceiverStore(sqlitePath: null, connectionString);
    }

    /// <summary>The SQLite file; null for the other kinds.</summary>
    public string? SqlitePath { get; }

    /// <summary>The PostgreSQL connection string; null for the other kinds.</summary>
    public string? PostgresConnection { get; }

    /// <summary>Whether what it holds outlives the process (the quarantine verbs need that).</summary>
    public bool IsDurable => SqlitePath is not null || PostgresConnection is not null;

    /// <summary>Reads <c>memory</c>, <c>sqlite:PATH</c> or <c>postgres:CONNECTION</c>.</summary>
    /// <exception cref="FormatException">Anything else; the message names the option and the forms it takes.</exception>
    public static ReceiverStore Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == MemoryName)
        {
            return Memory;
        }
        if (text.StartsWith(SqlitePrefix, StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(text[SqlitePrefix.Length..]))
        {
            return Sqlite(text[SqlitePrefix.Length..]);
        }
        if (text.StartsWith(PostgresPrefix, StringComparison.Ordinal) && !string.IsNullOrWhiteSpace(text[PostgresPrefix.Length..]))
        {
            try
            {
                return Postgres(text[PostgresPrefix.Length..]);
            }
            catch (ArgumentException ex)
            {
                // The text is not repeated: a connection string may hold a password.
                throw new FormatException($"--store {PostgresPrefix}CONNECTION must be an Npgsql connection string ({ex.Message})", ex);
            }
        }
        if (text.StartsWith(PostgresPrefix, StringComparison.Ordinal))
        {
            throw new FormatException($"--store {PostgresPrefix} must be followed by a connection string, e.g. {PostgresPrefix}Host=db;Username=app;Database=app");
        }
        throw new FormatException($"--store must be {MemoryName}, {SqlitePrefix}PATH or {PostgresPrefix}CONNECTION (got '{text}')");
    }

    public IEventStore Open(SqliteEventStoreOptions? options = null) => this switch
    {
        { SqlitePath: { } path } => new SqliteEventStore(path, options ?? new SqliteEventStoreOptions()),
        { PostgresConnection: { } connection } => new PostgreSqlEventStore(connection),
        _ => new InMemoryEventStore(),
    };

    /// <summary>The <c>--store</c> value; a PostgreSQL password is left out.</summary>
    public override string ToString() => this switch
    {
        { SqlitePath: { } path } => SqlitePrefix + path,
        { PostgresConnection: { } connection } => PostgresPrefix + new NpgsqlConnectionStringBuilder(connection) { Password = null }.ConnectionString,
        _ => MemoryName,
    };
}
