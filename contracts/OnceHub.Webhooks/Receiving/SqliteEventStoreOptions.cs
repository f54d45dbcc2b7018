namespace OnceHub.Webhooks;

/// <summary>When SQLite makes a commit durable (its <c>synchronous</c> setting, in WAL mode).</summary>
public enum SqliteSynchronous
{
    /// <summary>
    /// A commit is written to the log before it is answered and synced at checkpoints: it survives the process
    /// being killed, not a power loss or an operating system crash. The default.
    /// </summary>
    Normal,
    /// <summary>Every commit is synced to the disk before it is answered: it survives a power loss too.</summary>
    Full,
}

/// <summary>Settings of a <see cref="SqliteEventStore"/>.</summary>
public sealed record SqliteEventStoreOptions
{
    /// <summary>What a commit survives; see <see cref="SqliteSynchronous"/>.</summary>
    public SqliteSynchronous Synchronous { get; init; } = SqliteSynchronous.Normal;
}
