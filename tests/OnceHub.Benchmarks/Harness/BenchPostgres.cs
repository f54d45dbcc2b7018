using Npgsql;
using OnceHub.TestSupport;

namespace OnceHub.Benchmarks.Harness;

/// <summary>
/// The PostgreSQL server a figure measures against: the one <see cref="TestPostgres.Variable"/> names, or else a
/// throwaway cluster that <c>.ci/postgres start</c> creates for the run and <see cref="DisposeAsync"/> removes.
/// Each endpoint gets an empty database of its own.
/// </summary>
public sealed class BenchPostgres : IAsyncDisposable
{
    private readonly string? _clusterFolder;
    private readonly List<string> _databases = [];

    private BenchPostgres(string connectionString, string? clusterFolder)
    {
        ConnectionString = connectionString;
        _clusterFolder = clusterFolder;
    }

    public string ConnectionString { get; }

    /// <summary>Where the server came from, for the figure's notes.</summary>
    public string Origin => _clusterFolder is null ? $"the server {TestPostgres.Variable} names" : "a throwaway cluster (.ci/postgres start), PostgreSQL's defaults";

    public static async Task<BenchPostgres> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(TestPostgres.Variable) is { Length: > 0 } named)
        {
            return new BenchPostgres(named, clusterFolder: null);
        }
        var folder = Path.Combine(Path.GetTempPath(), $"oncehub-bench-postgres-{Environment.ProcessId}");
        Progress.Line($"postgres: {TestPostgres.Variable} is not set; .ci/postgres start (a throwaway cluster, removed at the end)");
        var start = await ChildProcess.RunAsync("bash", [Path.Combine(Repo.Root, ".ci", "postgres"), "start", folder], Repo.Root, TimeSpan.FromMinutes(5));
        var connection = start.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (start.ExitCode != 0 || connection is null)
        {
            throw new BenchmarkException($".ci/postgres start failed (exit {start.ExitCode}): {start.Stderr.Trim().Split('\n').LastOrDefault()}");
        }
        return new BenchPostgres(connection.Trim(), folder);
    }

    /// <summary>Creates an empty database for one endpoint and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string purpose)
    {
        var name = $"bench_{purpose}_{Environment.ProcessId}";
        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE); CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_clusterFolder is not null)
        {
            await ChildProcess.RunAsync("bash", [Path.Combine(Repo.Root, ".ci", "postgres"), "stop", _clusterFolder], Repo.Root, TimeSpan.FromMinutes(2));
            return;
        }
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        foreach (var name in _databases)
        {
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}
