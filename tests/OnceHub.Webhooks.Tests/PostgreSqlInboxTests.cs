using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OnceHub.Contracts.Payloads;
using OnceHub.TestSupport;
using OnceHub.Webhooks.PostgreSql;

namespace OnceHub.Webhooks.Tests;

/// <summary>A handler's writes and its event's settle commit together: each event's effect exists exactly once.</summary>
public sealed class PostgreSqlInboxTests : IDisposable
{
    private const string Secret = "inbox-test-secret-0123456789abcdef";
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly string _schema = $"test_{Guid.NewGuid():N}";
    private bool _usedServer;

    private string Server()
    {
        var connectionString = TestPostgres.ConnectionString();
        _usedServer = true;
        return connectionString;
    }

    // Deliberately without a unique key: a second effect of one event would be a second row.
    private async Task CreateEffectsTableAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"""
            CREATE SCHEMA IF NOT EXISTS "{_schema}";
            CREATE TABLE "{_schema}".effects (event_id text NOT NULL)
            """, connection);
        await create.ExecuteNonQueryAsync();
    }

    private async Task<Dictionary<string, long>> EffectsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand($"SELECT event_id, count(*) FROM \"{_schema}\".effects GROUP BY event_id", connection);
        await using var row = await count.ExecuteReaderAsync();
        var effects = new Dictionary<string, long>();
        while (await row.ReadAsync())
        {
            effects[row.GetString(0)] = row.GetInt64(1);
        }
        return effects;
    }

    private Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task> WriteEffect(string eventId) => async (connection, transaction, ct) =>
    {
        await using var insert = new NpgsqlCommand($"INSERT INTO \"{_schema}\".effects (event_id) VALUES (@id)", connection, transaction);
        insert.Parameters.AddWithValue("id", eventId);
        await insert.ExecuteNonQueryAsync(ct);
    };

    [SkippableFact]
    public async Task A_second_delivery_running_while_the_first_holds_the_transaction_waits_and_then_writes_nothing()
    {
        var server = Server();
        await CreateEffectsTableAsync(server);
        using var store = new PostgreSqlEventStore(server, new PostgreSqlEventStoreOptions { Schema = _schema });
        var inbox = new PostgreSqlInbox(store);
        var received = new ReceivedEvent("EVNT-INBOX1", "booking.scheduled", default);
        var inside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // as when a lease ran out under a slow handler: two deliveries of one id both got as far as the handler
        var first = inbox.HandleOnceAsync(received, async (connection, transaction, ct) =>
        {
            await WriteEffect(received.Id)(connection, transaction, ct);
            inside.SetResult();
            await release.Task;
        });
        // A first delivery that fails before its handler is reached ends the wait with its error, not a hang.
        await Task.WhenAny(inside.Task, first).WaitAsync(Deadline.Seconds(30));
        Assert.False(first.IsCompleted, $"the first delivery ended before its handler held the transaction: {first.Exception?.InnerException}");
        var second = inbox.HandleOnceAsync(received, WriteEffect(received.Id));
        release.SetResult();

        Assert.True(await first);
        Assert.False(await second);
        Assert.Equal(1, Assert.Single(await EffectsAsync(server)).Value);
        Assert.Equal(SettledAs.Processed, await store.GetSettledAsync(received.Id));
    }

    [SkippableFact]
    public async Task The_object_time_commits_with_the_handler_writes_and_not_when_they_roll_back()
    {
        var server = Server();
        await CreateEffectsTableAsync(server);
        using var store = new PostgreSqlEventStore(server, new PostgreSqlEventStoreOptions { Schema = _schema });
        var inbox = new PostgreSqlInbox(store);
        ReceivedEvent Received(int step) =>
            new($"EVNT-INBOXT{step}", BookingLifecycle.Steps[step].Type, System.Text.Json.JsonDocument.Parse(BookingLifecycle.Body("BKNG-INBOX1", step)).RootElement);

        await Assert.ThrowsAsync<InvalidOperationException>(() => inbox.HandleOnceAsync(Received(2), (_, _, _) => throw new InvalidOperationException("fails")));
        Assert.Null(await store.GetLastUpdatedTimeAsync("BKNG-INBOX1"));

        Assert.True(await inbox.HandleOnceAsync(Received(1), WriteEffect("EVNT-INBOXT1")));
        Assert.Equal(BookingLifecycle.Start.AddHours(1), await store.GetLastUpdatedTimeAsync("BKNG-INBOX1"));
    }

    [SkippableFact]
    public async Task Work_that_throws_leaves_neither_its_writes_nor_a_settle_and_the_retry_applies_them_once()
    {
        var server = Server();
        await CreateEffectsTableAsync(server);
        using var store = new PostgreSqlEventStore(server, new PostgreSqlEventStoreOptions { Schema = _schema });
        var inbox = new PostgreSqlInbox(store);
        var received = new ReceivedEvent("EVNT-INBOX2", "booking.scheduled", default);
        await store.TryBeginAsync(received.Id, received.Type, T0, T0.AddMinutes(2));

        await Assert.ThrowsAsync<InvalidOperationException>(() => inbox.HandleOnceAsync(received, async (connection, transaction, ct) =>
        {
            await WriteEffect(received.Id)(connection, transaction, ct);
            throw new InvalidOperationException("handler bug after its write");
        }));
        Assert.Empty(await EffectsAsync(server));
        Assert.Null(await store.GetSettledAsync(received.Id));
        Assert.Equal(1, await store.RecordFailureAsync(received.Id, T0));

        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync(received.Id, received.Type, T0, T0.AddMinutes(2)));
        Assert.True(await inbox.HandleOnceAsync(received, WriteEffect(received.Id)));
        Assert.Equal(1, Assert.Single(await EffectsAsync(server)).Value);
    }

    [SkippableFact]
    public async Task Under_concurrent_duplicates_and_failing_handlers_every_event_has_exactly_one_effect_once_all_are_acknowledged()
    {
        var server = Server();
        await CreateEffectsTableAsync(server);
        var attempts = new ConcurrentDictionary<string, int>();
        PostgreSqlInbox? inbox = null;
        await using var host = await LibraryHost.StartAsync(new Dictionary<string, string?>
        {
            ["OnceHub:Webhooks:Secrets:0"] = Secret,
            ["ConnectionStrings:OnceHubWebhooks"] = server,
            ["OnceHub:Webhooks:MaxHandlerFailures"] = "100",
        }, h => h.OnAnyEvent(async (e, ct) =>
        {
            var attempt = attempts.AddOrUpdate(e.Id, 1, (_, n) => n + 1);
            var number = int.Parse(e.Id.AsSpan("EVNT-EFFECT".Length), System.Globalization.CultureInfo.InvariantCulture);
            // every 5th event: the first attempt fails after writing (rolled back); every 7th: the first attempt
            // fails after its commit, as a crash between the commit and the answer would
            await inbox!.HandleOnceAsync(e, async (connection, transaction, token) =>
            {
                await WriteEffect(e.Id)(connection, transaction, token);
                if (number % 5 == 0 && attempt == 1)
                {
                    throw new InvalidOperationException("failed after writing");
                }
            }, ct);
            if (number % 7 == 0 && attempt == 1)
            {
                throw new InvalidOperationException("failed after the commit");
            }
        }), services: s => s.UsePostgreSql(options: new PostgreSqlEventStoreOptions { Schema = _schema }));
        inbox = host.Services.GetRequiredService<PostgreSqlInbox>();

        var ids = Enumerable.Range(0, 150).Select(i => $"EVNT-EFFECT{i:D6}").ToList();
        var template = JsonNode.Parse(ContractResources.ReadSample("booking.scheduled"))!.AsObject();
        byte[] Body(string id)
        {
            var node = template.DeepClone().AsObject();
            node["id"] = id;
            return Encoding.UTF8.GetBytes(node.ToJsonString());
        }
        // each id three times at once, then again until every id has been acknowledged (as OnceHub retries)
        var acknowledged = new ConcurrentDictionary<string, bool>();
        for (var round = 0; round < 10 && acknowledged.Count < ids.Count; round++)
        {
            var deliveries = ids.Where(id => !acknowledged.ContainsKey(id)).SelectMany(id => new[] { id, id, id });
            await Parallel.ForEachAsync(deliveries, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, _) =>
            {
                using var response = await EndpointTests.PostAsync(host.Url, Body(id), Secret);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    acknowledged[id] = true;
                }
            });
        }

        Assert.Equal(ids.Count, acknowledged.Count);
        var effects = await EffectsAsync(server);
        Assert.Equal(ids.Count, effects.Count);
        Assert.All(effects, e => Assert.Equal(1, e.Value));
        // the events whose first write was rolled back were handled again; their second write is the one kept
        Assert.All(ids.Where((_, i) => i % 5 == 0), id => Assert.True(attempts[id] >= 2, $"{id}: {attempts[id]} attempt(s)"));
    }

    public void Dispose()
    {
        if (_usedServer)
        {
            TestPostgres.DropSchema(_schema);
        }
    }
}
