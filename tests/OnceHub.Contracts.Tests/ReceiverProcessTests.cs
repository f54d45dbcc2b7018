using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

/// <summary>The reference receiver as users run it: a process with its environment, killed without warning.</summary>
public sealed class ReceiverProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oncehub-receiver-process-").FullName;
    private string? _database;

    public void Dispose()
    {
        Directory.Delete(_dir, recursive: true);
        if (_database is not null)
        {
            TestPostgres.DropDatabase(_database);
        }
    }

    private static readonly JsonObject Template = JsonNode.Parse(ContractResources.ReadSample("booking.scheduled"))!.AsObject();

    /// <summary>A booking.scheduled delivery with its own event id.</summary>
    internal static byte[] WithId(string id)
    {
        var node = Template.DeepClone().AsObject();
        node["id"] = id;
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    private static async Task<(HttpStatusCode Status, string Text)> DeliverAsync(Uri url, string id, string secret, CancellationToken cancellationToken = default)
    {
        var body = WithId(id);
        using var response = await ReferenceReceiverTests.PostAsync(url, body, new WebhookSigner(secret).CreateHeader(body), cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Secrets_come_from_ONCEHUB_WEBHOOK_SECRETS_and_the_store_files_are_readable_by_their_owner_only()
    {
        var db = Path.Combine(_dir, "events.db");
        await using var receiver = await ReceiverProcess.StartAsync(
            new Dictionary<string, string?> { ["ONCEHUB_WEBHOOK_SECRETS"] = "old-secret, new-secret" }, "--port", "0", "--store", "sqlite:" + db);

        Assert.Equal((HttpStatusCode.OK, "processed"), await DeliverAsync(receiver.Url, "EVNT-ENV0000001", "old-secret"));
        Assert.Equal((HttpStatusCode.OK, "processed"), await DeliverAsync(receiver.Url, "EVNT-ENV0000002", "new-secret"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await DeliverAsync(receiver.Url, "EVNT-ENV0000003", "other-secret")).Status);
        foreach (var file in new[] { db, db + "-wal", db + "-shm" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public async Task Every_id_acknowledged_before_a_kill_is_a_duplicate_after_the_restart()
    {
        const string Secret = "kill-test-secret";
        const int Kills = 3;
        // Enough acknowledgements per life that the kill lands in the middle of steady load.
        const int AcknowledgedPerLife = 150;
        var db = Path.Combine(_dir, "killed.db");
        string[] args = ["--port", "0", "--store", "sqlite:" + db, "--secret", Secret];
        var acknowledged = new ConcurrentBag<string>();
        var next = 0;

        for (var life = 0; life < Kills; life++)
        {
            var receiver = await ReceiverProcess.StartAsync(new Dictionary<string, string?>(), args);
            var before = acknowledged.Count;
            using var stop = new CancellationTokenSource();
            // 16 senders, each with fresh ids, still sending when the kill comes.
            var senders = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var id = $"EVNT-KILL{Interlocked.Increment(ref next):D8}";
                    try
                    {
                        var (status, _) = await DeliverAsync(receiver.Url, id, Secret, stop.Token);
                        if ((int)status is >= 200 and < 300)
                        {
                            acknowledged.Add(id);
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
                    {
                        // The receiver was killed under this delivery: no answer, so nothing was promised.
                    }
                }
            })).ToArray();
            var loaded = await OnceHub.TestSupport.Eventually.HoldsWithinAsync(() => acknowledged.Count - before >= AcknowledgedPerLife, TimeSpan.FromSeconds(20));
            await receiver.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(senders);
            await receiver.DisposeAsync();
            Assert.True(loaded, $"life {life}: {acknowledged.Count - before} deliveries acknowledged in 20 s");
        }

        await using var restarted = await ReceiverProcess.StartAsync(new Dictionary<string, string?>(), args);
        var answers = new ConcurrentDictionary<string, (HttpStatusCode, string)>();
        await Parallel.ForEachAsync(acknowledged, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (id, ct) => answers[id] = await DeliverAsync(restarted.Url, id, Secret, ct));

        var wrong = answers.Where(a => a.Value != (HttpStatusCode.OK, "duplicate")).Select(a => $"{a.Key}: {a.Value}").ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} of {answers.Count} acknowledged ids not answered as duplicates: {string.Join("; ", wrong.Take(10))}");
        Assert.True(answers.Count >= Kills * AcknowledgedPerLife);
    }

    [SkippableFact]
    public async Task Two_receiver_processes_on_one_PostgreSQL_database_handle_each_event_once_and_the_quarantine_verbs_reach_it()
    {
        const string Secret = "replica-test-secret";
        _database = $"receiver_{Guid.NewGuid():N}";
        var store = "postgres:" + TestPostgres.CreateDatabase(_database);
        string[] args = ["--port", "0", "--store", store, "--secret", Secret];
        await using var one = await ReceiverProcess.StartAsync(new Dictionary<string, string?>(), args);
        await using var two = await ReceiverProcess.StartAsync(new Dictionary<string, string?>(), args);

        // 60 ids, each delivered to both replicas at the same moment, 8 ids at a time
        var ids = Enumerable.Range(0, 60).Select(i => $"EVNT-REPLICA{i:D6}").ToList();
        var answers = new ConcurrentDictionary<string, (HttpStatusCode, string)[]>();
        await Parallel.ForEachAsync(ids, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
            answers[id] = await Task.WhenAll(DeliverAsync(one.Url, id, Secret, ct), DeliverAsync(two.Url, id, Secret, ct)));

        Assert.All(answers, pair =>
        {
            // one replica handled it; the other saw it settled, or was told to retry while the first held the lease
            Assert.Single(pair.Value, a => a == (HttpStatusCode.OK, "processed"));
            Assert.Single(pair.Value, a => a == (HttpStatusCode.OK, "duplicate") || a.Item1 == HttpStatusCode.Conflict);
        });
        await one.KillAsync();
        foreach (var id in ids)
        {
            Assert.Equal((HttpStatusCode.OK, "duplicate"), await DeliverAsync(two.Url, id, Secret));
        }

        var unreadable = Encoding.UTF8.GetBytes("{\"id\": \"EVNT-A\", /* no */ }");
        using (var set = await ReferenceReceiverTests.PostAsync(two.Url, unreadable, new WebhookSigner(Secret).CreateHeader(unreadable)))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }
        var list = await RunProgramAsync("quarantine", "list", "--store", store);
        Assert.Equal(0, list.Exit);
        Assert.Contains("not strict JSON", Assert.Single(list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        var show = await RunProgramAsync("quarantine", "show", "1", "--store", store);
        Assert.Equal((0, "{\"id\": \"EVNT-A\", /* no */ }"), (show.Exit, show.Out));
        // a body that is not JSON cannot be handed to a handler; replay says so and leaves it
        Assert.Equal(1, (await RunProgramAsync("quarantine", "replay", "1", "--store", store)).Exit);
        Assert.Equal(0, (await RunProgramAsync("quarantine", "delete", "1", "--store", store)).Exit);
        Assert.Contains("quarantine is empty", (await RunProgramAsync("quarantine", "list", "--all", "--store", store)).Out, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task After_kill_9_at_random_points_under_load_and_redelivery_of_everything_each_event_has_exactly_one_effect_row()
    {
        const string Secret = "effects-test-secret";
        const int Events = 300;
        _database = $"receiver_{Guid.NewGuid():N}";
        var connectionString = TestPostgres.CreateDatabase(_database);
        string[] args = ["--port", "0", "--store", "postgres:" + connectionString, "--secret", Secret, "--effects", "--lease-seconds", "2"];
        var ids = Enumerable.Range(0, Events).Select(i => $"EVNT-EFX{i:D6}").ToArray();
        // Seeded, so a failure can be replayed: which ids the senders pick and how many acknowledgements come before each kill.
        var random = new Random(20);
        var killAfter = Enumerable.Range(0, 3).Select(_ => random.Next(40, 160)).ToArray();
        var replicas = new ReceiverProcess[2];
        replicas[0] = await ReceiverProcess.StartAsync(new Dictionary<string, string?>(), args);
        replicas[1] = await ReceiverProcess.StartAsync(new Dictionary<string, string?>(), args);
        try
        {
            var acknowledged = 0;
            using var stop = new CancellationTokenSource();
            // 16 senders deliver random ids (so many twice or more) to either replica while one of them is killed
            var senders = Enumerable.Range(0, 16).Select(sender => Task.Run(async () =>
            {
                var pick = new Random(sender);
                while (!stop.IsCancellationRequested)
                {
                    var replica = Volatile.Read(ref replicas[pick.Next(2)]);
                    try
                    {
                        var (status, _) = await DeliverAsync(replica.Url, ids[pick.Next(Events)], Secret, stop.Token);
                        if (status == HttpStatusCode.OK)
                        {
                            Interlocked.Increment(ref acknowledged);
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
                    {
                        // killed under this delivery: no answer, nothing promised
                    }
                }
            })).ToArray();
            foreach (var after in killAfter)
            {
                var before = Volatile.Read(ref acknowledged);
                Assert.True(await OnceHub.TestSupport.Eventually.HoldsWithinAsync(() => Volatile.Read(ref acknowledged) - before >= after, TimeSpan.FromSeconds(30)),
                    $"{Volatile.Read(ref acknowledged) - before} of {after} acknowledgements before a kill");
                var victim = replicas[1];
                await victim.KillAsync();
                Volatile.Write(ref replicas[1], await ReceiverProcess.StartAsync(new Dictionary<string, string?>(), args));
                await victim.DisposeAsync();
            }
            await stop.CancelAsync();
            await Task.WhenAll(senders);

            // then every event again, as OnceHub retries, until each is acknowledged (409 while a dead replica's lease lasts)
            var pending = ids.ToHashSet();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (pending.Count > 0 && DateTime.UtcNow < deadline)
            {
                var answers = await Task.WhenAll(pending.Select(async id => (id, (await DeliverAsync(replicas[0].Url, id, Secret)).Status)));
                pending.ExceptWith(answers.Where(a => a.Status == HttpStatusCode.OK).Select(a => a.id));
            }
            Assert.Empty(pending);

            await using var connection = new Npgsql.NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var count = new Npgsql.NpgsqlCommand(
                $"SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE event_id <> ALL(@ids)) FROM {ReceiverEffectsTable}", connection);
            count.Parameters.AddWithValue("ids", ids);
            await using var row = await count.ExecuteReaderAsync();
            await row.ReadAsync();
            Assert.Equal((Events, Events, 0L), (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2)));
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
        }
    }

    // The receiver's effect table (ReceiverEffects.Table, internal to the receiver).
    private const string ReceiverEffectsTable = "oncehub_reference_effects";

    private static async Task<(int Exit, string Out, string Err)> RunProgramAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await ReceiverProgram.RunAsync(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
