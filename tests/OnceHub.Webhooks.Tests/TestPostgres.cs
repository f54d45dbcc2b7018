using Npgsql;

namespace OnceHub.Webhooks.Tests;

/// <summary>
/// The PostgreSQL server the tests use, named by <see cref="Variable"/> (<c>.ci/postgres run</c> sets it). Unset,
/// a PostgreSQL test is skipped with the reason; set, a server that does not answer fails the test.
/// </summary>
internal static class TestPostgres
{
    public const string Variable = "ONCEHUB_TEST_POSTGRES";

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
}
