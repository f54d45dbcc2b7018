using Npgsql;
using Xunit;

namespace OnceHub.TestSupport;

/// <summary>
/// The PostgreSQL server the tests use, named by <see cref="Variable"/> (<c>.ci/postgres run</c> sets it). Unset,
/// a PostgreSQL test is skipped with the reason; set, a server that does not answer fails the test.
/// </summary>
public static class TestPostgres
{
    public const string Variable = "ONCEHUB_TEST_POSTGRES";

    /// <summary>The server's connection string; skips the calling <c>SkippableFact</c> when there is none.</summary>
    public static string ConnectionString()
    {
        var value = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrWhiteSpace(value),
            $"{Variable} is not set: no PostgreSQL server to test against (run the tests under .ci/postgres run)");
        return value!;
    }

    public static void DropSchema(string schema)
    {
        using var connection = new NpgsqlConnection(ConnectionString());
        connection.Open();
        using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
        drop.ExecuteNonQuery();
    }

    /// <summary>Creates an empty database of its own and returns its connection string.</summary>
    public static string CreateDatabase(string name)
    {
        var server = ConnectionString();
        using (var connection = new NpgsqlConnection(server))
        {
            connection.Open();
            using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            create.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabase"/>, even with sessions still open on it.</summary>
    public static void DropDatabase(string name)
    {
        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(ConnectionString());
        connection.Open();
        using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        drop.ExecuteNonQuery();
    }
}
