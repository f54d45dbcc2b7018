using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Npgsql;
using OnceHub.TestSupport;
using OnceHub.Webhooks;
using Xunit.Abstractions;

namespace OnceHub.Contracts.Tests;

/// <summary>
/// Three reference receiver processes on one PostgreSQL database behind nginx round-robin, each writing its effect
/// row in the transaction that settles the event, one of them killed twice under load: every event has its effect
/// exactly once, none is lost, and a 409 comes only while another delivery holds the event's lease.
/// </summary>
public sealed class ReplicaTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>How many events to send (default <see cref="DefaultEvents"/>); tests/OnceHub.Benchmarks/replicas.sh sets it for the full size.</summary>
    public const string EventsVariable = "ONCEHUB_REPLICA_EVENTS";

    private const int DefaultEvents = 300;
    private const string Secret = "replicas-test-secret";
    private const int Replicas = 3;
    private const int LeaseSeconds = 2;
    // Events whose deliveries are under way at once; each has one to three deliveries running concurrently.
    private const int EventsInFlight = 32;
    // The receiver's effect table (ReceiverEffects.Table, internal to the receiver) and the store's default schema.
    private const string EffectsTable = "oncehub_reference_effects";
    private const string EventsTable = "oncehub_webhooks.events";

    private string? _database;

    public void Dispose()
    {
        if (_database is not null)
        {
            TestPostgres.DropDatabase(_database);
        }
    }

    /// <summary>One HTTP request of a delivery: when it went out and came back (ms since the load began) and its answer (0: no answer).</summary>
    private sealed record Attempt(int Event, double Start, double End, int Status, string Text);

    [SkippableFact]
    public async Task Three_replicas_behind_nginx_with_one_killed_twice_mid_load_apply_every_event_exactly_once_and_lose_none()
    {
        // Skips when no server is named; with one named, a missing nginx is a failure, as in CI.
        _ = TestPostgres.ConnectionString();
        var nginx = NginxRoundRobin.Find()
            ?? throw new InvalidOperationException($"{TestPostgres.Variable} is set but nginx is not installed: apt-get install nginx-light (scripts/install-prerequisites.sh installs it)");
        var events = EventCount();
        _database = $"replicas_{Guid.NewGuid():N}";
        var connectionString = TestPostgres.CreateDatabase(_database);
        // Each replica's pool capped, so the three stay well within the test server's connections beside other tests.
        var replicaConnection = new NpgsqlConnectionStringBuilder(connectionString) { MaxPoolSize = 40 }.ConnectionString;
        var ports = Enumerable.Range(0, Replicas).Select(_ => LoopbackPort.Free()).ToArray();
        string[] Args(int replica) =>
            ["--port", ports[replica].ToString(CultureInfo.InvariantCulture), "--store", "postgres:" + replicaConnection, "--secret", Secret,
             "--effects", "--lease-seconds", LeaseSeconds.ToString(CultureInfo.InvariantCulture)];
        var noEnvironment = new Dictionary<string, string?>();
        var replicas = new ReceiverProcess?[Replicas];
        // Set when the test ends early, so no sender goes on delivering after it.
        var ended = false;
        try
        {
            for (var i = 0; i < Replicas; i++)
            {
                replicas[i] = await ReceiverProcess.StartAsync(noEnvironment, Args(i));
            }
            await using var proxy = await NginxRoundRobin.StartAsync(nginx, ports);
            var url = new Uri(proxy.Url, ReferenceReceiverEndpoint);
            // Seeded, so a failing run can be repeated: how many deliveries each event gets.
            var random = new Random(5);
            var deliveries = Enumerable.Range(0, events).Select(_ => random.Next(1, 4)).ToArray();
            var attempts = new ConcurrentQueue<Attempt>();
            var acknowledged = 0;
            var lost = 0;
            var clock = Stopwatch.StartNew();
            var giveUp = DateTime.UtcNow + Deadline.Seconds(30 + (events / 20.0));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

            // One delivery as OnceHub makes it: signed afresh for each attempt, tried again after any non-2xx answer
            // or connection error (sooner than OnceHub would, to fit a test) until a 2xx or the deadline.
            async Task DeliverAsync(int index)
            {
                var body = ReceiverProcessTests.WithId(EventId(index));
                for (var attempt = 0; ; attempt++)
                {
                    if (Volatile.Read(ref ended) || DateTime.UtcNow > giveUp)
                    {
                        Interlocked.Increment(ref lost);
                        return;
                    }
                    var start = clock.Elapsed.TotalMilliseconds;
                    int status;
                    var text = "";
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                        request.Content.Headers.ContentType = new("application/json");
                        request.Headers.TryAddWithoutValidation(WebhookSigner.HeaderName, new WebhookSigner(Secret).CreateHeader(body));
                        using var response = await http.SendAsync(request);
                        status = (int)response.StatusCode;
                        text = await response.Content.ReadAsStringAsync();
                    }
                    catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
                    {
                        status = 0;
                    }
                    attempts.Enqueue(new Attempt(index, start, clock.Elapsed.TotalMilliseconds, status, text));
                    if (status is >= 200 and < 300)
                    {
                        return;
                    }
                    await Task.Delay(Math.Min(10 * (attempt + 1), 200));
                }
            }

            // The load is released in five parts: the second after the first kill, the third once the killed replica
            // is back, the fourth after the second kill, the fifth once it is back again. So each kill lands while the
            // part before it is under way and the part after it is still to come, however fast this machine is.
            int[] parts = [0, events / 6, events / 3, events / 2, 2 * events / 3, events];
            var released = Enumerable.Range(0, 5).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
            released[0].SetResult();
            using var slots = new SemaphoreSlim(EventsInFlight);
            var load = Task.WhenAll(Enumerable.Range(0, events).Select(async index =>
            {
                await released[Array.FindLastIndex(parts, start => start <= index)].Task;
                await slots.WaitAsync();
                try
                {
                    await Task.WhenAll(Enumerable.Range(0, deliveries[index]).Select(_ => Task.Run(() => DeliverAsync(index))));
                    Interlocked.Increment(ref acknowledged);
                }
                finally
                {
                    slots.Release();
                }
            }));

            var kills = new List<string>();
            foreach (var part in new[] { 0, 2 })
            {
                // Half the part acknowledged: the rest of it is being delivered when the kill comes.
                var killAt = parts[part] + ((parts[part + 1] - parts[part]) / 2);
                Assert.True(await Eventually.HoldsWithinAsync(() => Volatile.Read(ref acknowledged) >= killAt, TimeSpan.FromSeconds(30 + (events / 20.0))),
                    $"{Volatile.Read(ref acknowledged)} of {killAt} events acknowledged before kill {kills.Count + 1}");
                var underWay = parts[part + 1] - Volatile.Read(ref acknowledged);
                var victim = replicas[1]!;
                await victim.KillAsync();
                kills.Add(string.Create(CultureInfo.InvariantCulture, $"at {clock.Elapsed.TotalSeconds:0.0} s with {underWay} events under way and {parts[part + 2] - parts[part + 1]} to come"));
                released[part + 1].SetResult();
                replicas[1] = null;
                await victim.DisposeAsync();
                replicas[1] = await ReceiverProcess.StartAsync(noEnvironment, Args(1));
                released[part + 2].SetResult();
            }
            await load;
            var elapsed = clock.Elapsed;

            var all = attempts.ToArray();
            var conflicts = all.Where(a => a.Status == (int)HttpStatusCode.Conflict).ToList();
            // A 409 is justified by another delivery of the same event that overlapped it, or that had no answer
            // from its replica (killed under it) at most a lease before it.
            var byEvent = all.ToLookup(a => a.Event);
            var unjustified = conflicts.Where(c => !byEvent[c.Event].Any(other => !ReferenceEquals(other, c) && other.Start <= c.End
                && (other.End >= c.Start || (!Answered(other.Status) && other.End + (LeaseSeconds * 1000) >= c.Start)))).ToList();
            var (effects, distinctEffects, strangers) = await CountEffectsAsync(connectionString, events);
            var states = await StatesAsync(connectionString);

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{events} events, {deliveries.Sum()} deliveries ({deliveries.Count(d => d > 1)} events delivered more than once), {all.Length} requests, {Replicas} replicas behind nginx, lease {LeaseSeconds} s"));
            output.WriteLine($"answers: {string.Join(", ", all.GroupBy(a => a.Status == 200 ? a.Text : a.Status.ToString(CultureInfo.InvariantCulture)).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"))}");
            output.WriteLine($"effects: {effects} rows, {distinctEffects} events, {effects - distinctEffects} duplicates; lost: {lost}; 409s: {conflicts.Count} ({unjustified.Count} with no other delivery holding the lease)");
            output.WriteLine($"kills: {kills.Count} ({string.Join("; ", kills)}); store after the run: {string.Join(", ", states.Select(s => $"{s.Key} {s.Value}"))}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"time: {elapsed.TotalSeconds:0.0} s"));

            Assert.Equal(0, lost);
            Assert.Equal((events, events, 0L), (effects, distinctEffects, strangers));
            Assert.True(unjustified.Count == 0,
                $"{unjustified.Count} 409s with no other delivery of the event under way: {string.Join("; ", unjustified.Take(5).Select(u => $"{EventId(u.Event)} at {u.Start:0} ms"))}");
            // Every event settled as processed: no claim left in flight, none failed.
            Assert.Equal(new Dictionary<string, long> { ["processed"] = events }, states);
            Assert.Equal(2, kills.Count);
        }
        finally
        {
            Volatile.Write(ref ended, true);
            foreach (var replica in replicas)
            {
                if (replica is not null)
                {
                    await replica.DisposeAsync();
                }
            }
        }
    }

    private const string ReferenceReceiverEndpoint = OnceHub.Contracts.Receiver.ReferenceReceiver.Path;

    private static string EventId(int index) => $"EVNT-RR{index:D8}";

    // 502 and 504 are nginx's: the replica gave no answer (killed, or not listening yet).
    private static bool Answered(int status) => status is not (0 or 502 or 504);

    private static int EventCount()
    {
        var set = Environment.GetEnvironmentVariable(EventsVariable);
        if (string.IsNullOrWhiteSpace(set))
        {
            return DefaultEvents;
        }
        return int.TryParse(set, NumberStyles.None, CultureInfo.InvariantCulture, out var events) && events is >= 6 and <= 1_000_000
            ? events
            : throw new InvalidOperationException($"{EventsVariable} must be a number from 6 to 1000000 (got '{set}')");
    }

    private static async Task<(long Rows, long Events, long Strangers)> CountEffectsAsync(string connectionString, int events)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand(
            $"SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE event_id <> ALL(@ids)) FROM {EffectsTable}", connection);
        count.Parameters.AddWithValue("ids", Enumerable.Range(0, events).Select(EventId).ToArray());
        await using var row = await count.ExecuteReaderAsync();
        await row.ReadAsync();
        return (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2));
    }

    private static async Task<Dictionary<string, long>> StatesAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var states = new NpgsqlCommand($"SELECT state, count(*) FROM {EventsTable} GROUP BY state", connection);
        await using var row = await states.ExecuteReaderAsync();
        var found = new Dictionary<string, long>();
        while (await row.ReadAsync())
        {
            found[row.GetString(0)] = row.GetInt64(1);
        }
        return found;
    }
}
