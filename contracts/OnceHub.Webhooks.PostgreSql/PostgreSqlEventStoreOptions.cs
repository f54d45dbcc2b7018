using System.Text.RegularExpressions;

namespace OnceHub.Webhooks.PostgreSql;

/// <summary>Settings of a <see cref="PostgreSqlEventStore"/>.</summary>
public sealed partial record PostgreSqlEventStoreOptions
{
    /// <summary>The schema name used when none is given.</summary>
    public const string DefaultSchema = "oncehub_webhooks";

    /// <summary>
    /// The PostgreSQL schema that holds the store's two tables; created on first use. Receivers that share event
    /// ids share a schema; a lowercase identifier (letters, digits, underscores, at most 63 characters).
    /// </summary>
    public string Schema { get; init; } = DefaultSchema;

    /// <summary>The problem with <see cref="Schema"/>, or null when it can be used.</summary>
    public string? SchemaError() => SchemaName().IsMatch(Schema ?? "")
        ? null
        : $"Schema must be a lowercase identifier (a-z, 0-9, _, starting with a letter or _, at most 63 characters), got '{Schema}'";

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
