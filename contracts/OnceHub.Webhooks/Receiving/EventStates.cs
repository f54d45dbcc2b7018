namespace OnceHub.Webhooks;

/// <summary>
/// The values of a store's <c>state</c> column, in SQLite and in PostgreSQL alike: the one mapping between them
/// and <see cref="SettledAs"/>.
/// </summary>
/// <remarks>Compiled into each assembly that keeps events in a database; internal to each.</remarks>
internal static class EventStates
{
    public const string InFlight = "in_flight";
    public const string Failed = "failed";
    public const string Processed = "processed";
    public const string Ignored = "ignored";
    public const string Quarantined = "quarantined";
    public const string Skipped = "skipped";

    /// <summary>The settled states as an SQL list, for the purge and its partial index (which must name them literally).</summary>
    public const string SettledList = $"'{Processed}', '{Ignored}', '{Quarantined}', '{Skipped}'";

    public static string Name(SettledAs how) => how switch
    {
        SettledAs.Processed => Processed,
        SettledAs.Ignored => Ignored,
        SettledAs.Quarantined => Quarantined,
        SettledAs.Skipped => Skipped,
        _ => throw new ArgumentOutOfRangeException(nameof(how)),
    };

    public static SettledAs? Settled(object? state) => state switch
    {
        Processed => SettledAs.Processed,
        Ignored => SettledAs.Ignored,
        Quarantined => SettledAs.Quarantined,
        Skipped => SettledAs.Skipped,
        _ => null,
    };
}
