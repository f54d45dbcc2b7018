using OnceHub.TestSupport;
using OnceHub.Webhooks.PostgreSql;

namespace OnceHub.Webhooks.Tests;

public sealed class InMemoryEventStoreContractTests : EventStoreContract
{
    protected override IEventStore Open() => new InMemoryEventStore();
}

public sealed class SqliteInMemoryEventStoreContractTests : EventStoreContract
{
    protected override IEventStore Open() => new SqliteEventStore(null);
}

public sealed class SqliteFileEventStoreContractTests : SharedEventStoreContract, IDisposable
{
    private readonly TempDatabase _database = new();

    protected override IEventStore Open() => new SqliteEventStore(_database.Path);

    public void Dispose() => _database.Dispose();
}

/// <summary>Each test gets a schema of its own in the test server, dropped at the end.</summary>
public sealed class PostgreSqlEventStoreContractTests : SharedEventStoreContract, IDisposable
{
    private readonly string _schema = $"test_{Guid.NewGuid():N}";
    private bool _opened;

    protected override IEventStore Open()
    {
        _opened = true;
        return new PostgreSqlEventStore(TestPostgres.ConnectionString(), new PostgreSqlEventStoreOptions { Schema = _schema });
    }

    [SkippableFact]
    public async Task A_store_starts_while_other_schemas_of_the_database_are_being_dropped()
    {
        // Another application (or another receiver's tests) dropping its tables beside a store's first start must
        // not fail that start: the start reads only its own schema's catalog rows.
        var connectionString = TestPostgres.ConnectionString();
        for (var round = 0; round < 8; round++)
        {
            var others = Enumerable.Range(0, 8).Select(_ => $"test_{Guid.NewGuid():N}").ToList();
            var starting = Enumerable.Range(0, 8).Select(_ => $"test_{Guid.NewGuid():N}").ToList();
            try
            {
                foreach (var other in others)
                {
                    using var store = new PostgreSqlEventStore(connectionString, new PostgreSqlEventStoreOptions { Schema = other });
                    await store.EnsureSchemaAsync();
                }
                var drops = others.Select(other => Task.Run(() => TestPostgres.DropSchema(other)));
                var starts = starting.Select(schema => Task.Run(async () =>
                {
                    using var store = new PostgreSqlEventStore(connectionString, new PostgreSqlEventStoreOptions { Schema = schema });
                    await store.EnsureSchemaAsync();
                }));
                await Task.WhenAll(drops.Concat(starts));
            }
            finally
            {
                others.Concat(starting).ToList().ForEach(TestPostgres.DropSchema);
            }
        }
    }

    [SkippableFact]
    public async Task Replicas_starting_at_once_on_an_empty_database_all_find_one_schema_and_share_it()
    {
        var replicas = Enumerable.Range(0, 8).Select(_ => (PostgreSqlEventStore)Open()).ToList();
        try
        {
            // Without the advisory lock, concurrent CREATE ... IF NOT EXISTS of one table can fail on the catalog.
            await Task.WhenAll(replicas.Select(r => Task.Run(() => r.EnsureSchemaAsync())));
            var outcomes = await Task.WhenAll(replicas.Select(r => r.TryBeginAsync("EVNT-R1", "booking.scheduled", T0, T0.AddMinutes(2)).AsTask()));

            Assert.Single(outcomes, o => o == BeginOutcome.Started);
        }
        finally
        {
            replicas.ForEach(r => r.Dispose());
        }
    }

    [SkippableFact]
    public async Task A_schema_whose_purge_index_lists_fewer_settled_states_gets_it_remade_with_every_state()
    {
        using (var setup = new Npgsql.NpgsqlConnection(TestPostgres.ConnectionString()))
        {
            _opened = true;
            setup.Open();
            using var create = new Npgsql.NpgsqlCommand($"""
                CREATE SCHEMA "{_schema}";
                CREATE TABLE "{_schema}".events (event_id text PRIMARY KEY, event_type text NOT NULL, state text NOT NULL,
                    lease_until timestamptz, failures integer NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL);
                CREATE INDEX events_settled_at ON "{_schema}".events (updated_at) WHERE state IN ('processed', 'ignored', 'quarantined');
                """, setup);
            create.ExecuteNonQuery();
        }

        using (var store = (PostgreSqlEventStore)Open())
        {
            await store.EnsureSchemaAsync();
        }

        using var check = new Npgsql.NpgsqlConnection(TestPostgres.ConnectionString());
        check.Open();
        // By name, not through pg_indexes, which reads every index's definition and fails while another test drops one.
        using var read = new Npgsql.NpgsqlCommand("SELECT pg_get_indexdef(to_regclass(@index))", check);
        read.Parameters.AddWithValue("index", $"\"{_schema}\".events_settled_at");
        Assert.Contains("'skipped'", (string)read.ExecuteScalar()!, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (_opened)
        {
            TestPostgres.DropSchema(_schema);
        }
    }
}
