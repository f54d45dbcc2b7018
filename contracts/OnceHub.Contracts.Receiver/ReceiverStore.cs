using OnceHub.Account;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Receiver;

/// <summary>
/// Where the reference receiver keeps event ids and its quarantine, as <c>--store</c> names it: <c>memory</c>
/// (forgotten on restart) or <c>sqlite:PATH</c> (a file, kept across restarts). The one place a store is named
/// and opened, so a new kind is one more case here.
/// </summary>
public sealed record ReceiverStore
{
    public const string MemoryName = "memory";
    public const string SqlitePrefix = "sqlite:";

    private ReceiverStore(string? sqlitePath) => SqlitePath = sqlitePath;

    /// <summary>Ids in process memory: a restart forgets them, so redeliveries are handled again.</summary>
    public static ReceiverStore Memory { get; } = new(sqlitePath: null);

    /// <summary>A SQLite file (WAL), created readable by its owner only; a relative path is the caller's.</summary>
    public static ReceiverStore Sqlite(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return new ReceiverStore(UserPath.Resolve(path));
    }

    /// <summary>The SQLite file; null for <see cref="Memory"/>.</summary>
    public string? SqlitePath { get; }

    /// <summary>Whether what it holds outlives the process (the quarantine verbs need that).</summary>
    public bool IsDurable => SqlitePath is not null;

    /// <summary>Reads <c>memory</c> or <c>sqlite:PATH</c>.</summary>
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
        throw new FormatException($"--store must be {MemoryName} or {SqlitePrefix}PATH (got '{text}')");
    }

    public IEventStore Open(SqliteEventStoreOptions? options = null) =>
        SqlitePath is { } path ? new SqliteEventStore(path, options ?? new SqliteEventStoreOptions()) : new InMemoryEventStore();

    public override string ToString() => SqlitePath is { } path ? SqlitePrefix + path : MemoryName;
}
