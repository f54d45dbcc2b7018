using OnceHub.TestSupport;

namespace OnceHub.Webhooks.Tests;

/// <summary>The in-memory store keeps the durable store's rules: the same cases run against both.</summary>
public sealed class EventStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string> Stores => ["memory", "sqlite"];

    private static IEventStore Open(string kind) => kind == "memory" ? new InMemoryEventStore() : new SqliteEventStore(null);

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_claim_holds_until_its_lease_runs_out_and_a_settled_id_stays_settled(string kind)
    {
        using var store = Open(kind);

        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync("EVNT-A1", "booking.scheduled", T0, T0.AddMinutes(2)));
        Assert.Equal(BeginOutcome.InFlight, await store.TryBeginAsync("EVNT-A1", "booking.scheduled", T0.AddMinutes(1), T0.AddMinutes(3)));
        // the first delivery crashed: after its lease a redelivery takes over
        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync("EVNT-A1", "booking.scheduled", T0.AddMinutes(2), T0.AddMinutes(4)));
        Assert.Null(await store.GetSettledAsync("EVNT-A1"));
        await store.SettleAsync("EVNT-A1", "booking.scheduled", SettledAs.Processed, T0.AddMinutes(3));
        Assert.Equal(BeginOutcome.AlreadyDone, await store.TryBeginAsync("EVNT-A1", "booking.scheduled", T0.AddHours(1), T0.AddHours(2)));
        Assert.Equal(SettledAs.Processed, await store.GetSettledAsync("EVNT-A1"));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Failures_release_the_id_and_are_counted_unless_the_sender_hung_up(string kind)
    {
        using var store = Open(kind);

        Assert.Equal(0, await store.RecordFailureAsync("EVNT-NEVERSEEN", T0));
        await store.TryBeginAsync("EVNT-F1", "booking.scheduled", T0, T0.AddMinutes(2));
        Assert.Equal(1, await store.RecordFailureAsync("EVNT-F1", T0));
        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync("EVNT-F1", "booking.scheduled", T0, T0.AddMinutes(2)));
        Assert.Equal(1, await store.RecordFailureAsync("EVNT-F1", T0, counts: false));
        await store.TryBeginAsync("EVNT-F1", "booking.scheduled", T0, T0.AddMinutes(2));
        Assert.Equal(2, await store.RecordFailureAsync("EVNT-F1", T0));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Quarantine_entries_keep_the_body_and_leave_the_list_once_replayed(string kind)
    {
        using var store = Open(kind);

        var first = await store.QuarantineAsync(null, null, "not JSON", new byte[] { 1, 2, 3 }, T0);
        var second = await store.QuarantineAsync("EVNT-Q2", "booking.canceled", "handler failed", new byte[] { 4 }, T0.AddSeconds(1));
        await store.MarkReplayedAsync(first, T0.AddMinutes(5));

        var waiting = Assert.Single(await store.ListQuarantineAsync());
        Assert.Equal((second, "EVNT-Q2", "booking.canceled"), (waiting.Id, waiting.EventId, waiting.EventType));
        Assert.Equal([4], waiting.Body);
        Assert.Equal(2, (await store.ListQuarantineAsync(includeReplayed: true)).Count);
        Assert.Equal(T0.AddMinutes(5), (await store.GetQuarantinedAsync(first))!.ReplayedAt);
        Assert.Null(await store.GetQuarantinedAsync(second + 10));
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task Settled_ids_older_than_the_cutoff_are_purged_oldest_first_in_batches_and_nothing_else_is(string kind)
    {
        using var store = Open(kind);
        var cutoff = T0.AddDays(30);
        for (var i = 0; i < 5; i++)
        {
            await store.SettleAsync($"EVNT-OLD{i}", "booking.scheduled", (SettledAs)(i % 3), T0.AddMinutes(i));
        }
        await store.SettleAsync("EVNT-RECENT", "booking.scheduled", SettledAs.Processed, cutoff.AddSeconds(1));
        await store.TryBeginAsync("EVNT-OLDCLAIM", "booking.scheduled", T0, T0.AddMinutes(2));
        await store.TryBeginAsync("EVNT-OLDFAIL", "booking.scheduled", T0, T0.AddMinutes(2));
        await store.RecordFailureAsync("EVNT-OLDFAIL", T0);
        var entry = await store.QuarantineAsync("EVNT-OLD2", "booking.scheduled", "handler failed", new byte[] { 7 }, T0);

        Assert.Equal(2, await store.PurgeSettledAsync(cutoff, limit: 2));
        // oldest first: the two oldest are forgotten, a redelivery of one is handled again
        Assert.Null(await store.GetSettledAsync("EVNT-OLD0"));
        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync("EVNT-OLD1", "booking.scheduled", cutoff.AddDays(1), cutoff.AddDays(2)));
        Assert.NotNull(await store.GetSettledAsync("EVNT-OLD2"));
        Assert.Equal(2, await store.PurgeSettledAsync(cutoff, limit: 2));
        Assert.Equal(1, await store.PurgeSettledAsync(cutoff, limit: 2));
        Assert.Equal(0, await store.PurgeSettledAsync(cutoff, limit: 2));

        Assert.Equal(SettledAs.Processed, await store.GetSettledAsync("EVNT-RECENT"));
        Assert.Equal(BeginOutcome.InFlight, await store.TryBeginAsync("EVNT-OLDCLAIM", "booking.scheduled", T0.AddMinutes(1), T0.AddMinutes(3)));
        Assert.Equal(2, await store.RecordFailureAsync("EVNT-OLDFAIL", T0));
        Assert.Equal([7], (await store.GetQuarantinedAsync(entry))!.Body);
    }

    [Theory]
    [MemberData(nameof(Stores))]
    public async Task A_deleted_quarantine_entry_is_gone_and_its_number_is_not_reused(string kind)
    {
        using var store = Open(kind);
        var first = await store.QuarantineAsync(null, null, "not JSON", new byte[] { 1 }, T0);
        var second = await store.QuarantineAsync(null, null, "not JSON", new byte[] { 2 }, T0);

        Assert.True(await store.DeleteQuarantinedAsync(second));
        Assert.False(await store.DeleteQuarantinedAsync(second));
        Assert.Null(await store.GetQuarantinedAsync(second));
        Assert.Equal(first, Assert.Single(await store.ListQuarantineAsync(includeReplayed: true)).Id);
        Assert.True(await store.QuarantineAsync(null, null, "not JSON", new byte[] { 3 }, T0) > second);
    }

    [Fact]
    public async Task Concurrent_claims_and_settles_from_two_stores_on_one_file_give_one_owner_per_id_and_survive_reopening()
    {
        using var database = new TempDatabase();
        var path = database.Path;
        // 200 ids, every fourth delivered twice: 250 claims from 32 workers through two stores on one file
        // (as two receiver processes would), so duplicates of one id race each other for the claim, in one
        // writer's batch or across the two writers.
        var deliveries = new System.Collections.Concurrent.ConcurrentQueue<int>(
            Enumerable.Range(0, 200).SelectMany(i => i % 4 == 0 ? new[] { i, i } : new[] { i }).OrderBy(i => (i * 7919) % 251));
        var outcomes = new System.Collections.Concurrent.ConcurrentBag<(int Id, BeginOutcome Outcome)>();
        using (var one = new SqliteEventStore(path))
        using (var two = new SqliteEventStore(path))
        {
            var workers = Enumerable.Range(0, 32).Select(worker => Task.Run(async () =>
            {
                var store = worker % 2 == 0 ? one : two;
                while (deliveries.TryDequeue(out var i))
                {
                    var outcome = await store.TryBeginAsync($"EVNT-C{i}", "booking.scheduled", T0, T0.AddMinutes(2));
                    outcomes.Add((i, outcome));
                    if (outcome == BeginOutcome.Started)
                    {
                        await store.SettleAsync($"EVNT-C{i}", "booking.scheduled", i % 5 == 0 ? SettledAs.Ignored : SettledAs.Processed, T0);
                    }
                }
            })).ToArray();
            await Task.WhenAll(workers);

            Assert.Equal(250, outcomes.Count);
            foreach (var group in outcomes.GroupBy(o => o.Id))
            {
                // exactly one delivery owns each id; its duplicate saw the live lease or the settled id
                Assert.Single(group, o => o.Outcome == BeginOutcome.Started);
                Assert.All(group.Where(o => o.Outcome != BeginOutcome.Started),
                    o => Assert.Contains(o.Outcome, new[] { BeginOutcome.InFlight, BeginOutcome.AlreadyDone }));
            }
            Assert.Equal(200, outcomes.Count(o => o.Outcome == BeginOutcome.Started));
        }

        using var reopened = new SqliteEventStore(path);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(i % 5 == 0 ? SettledAs.Ignored : SettledAs.Processed, await reopened.GetSettledAsync($"EVNT-C{i}"));
            Assert.Equal(BeginOutcome.AlreadyDone, await reopened.TryBeginAsync($"EVNT-C{i}", "booking.scheduled", T0.AddHours(1), T0.AddHours(2)));
        }
    }

    [Theory]
    [InlineData(SqliteSynchronous.Normal)]
    [InlineData(SqliteSynchronous.Full)]
    public async Task Every_answered_claim_settle_and_failure_is_in_the_files_a_killed_process_leaves(SqliteSynchronous synchronous)
    {
        using var database = new TempDatabase();
        using var store = new SqliteEventStore(database.Path, new SqliteEventStoreOptions { Synchronous = synchronous });
        var snapshot = 0;
        // The database and its log exactly as they are now, opened by a new store: what a restart after a
        // kill -9 at this moment would find (the store under test is neither closed nor flushed).
        async Task<(SettledAs? Settled, BeginOutcome Claim)> AfterKillAsync(string id)
        {
            var copy = $"{database.Path}.killed{++snapshot}";
            File.Copy(database.Path, copy);
            if (File.Exists(database.Path + "-wal"))
            {
                File.Copy(database.Path + "-wal", copy + "-wal");
            }
            try
            {
                using var restarted = new SqliteEventStore(copy);
                return (await restarted.GetSettledAsync(id), await restarted.TryBeginAsync(id, "booking.scheduled", T0.AddSeconds(1), T0.AddMinutes(3)));
            }
            finally
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                foreach (var file in new[] { copy, copy + "-wal", copy + "-shm" })
                {
                    File.Delete(file);
                }
            }
        }

        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync("EVNT-K1", "booking.scheduled", T0, T0.AddMinutes(2)));
        // the claim is kept: a redelivery within the lease is told another delivery holds the id
        Assert.Equal((null, BeginOutcome.InFlight), await AfterKillAsync("EVNT-K1"));

        await store.SettleAsync("EVNT-K1", "booking.scheduled", SettledAs.Processed, T0);
        Assert.Equal((SettledAs.Processed, BeginOutcome.AlreadyDone), await AfterKillAsync("EVNT-K1"));

        await store.TryBeginAsync("EVNT-K2", "booking.scheduled", T0, T0.AddMinutes(2));
        Assert.Equal(1, await store.RecordFailureAsync("EVNT-K2", T0));
        // released by the failure: the redelivery takes it at once
        Assert.Equal((null, BeginOutcome.Started), await AfterKillAsync("EVNT-K2"));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_new_database_and_its_log_files_are_readable_by_their_owner_only()
    {
        using var database = new TempDatabase();
        using var store = new SqliteEventStore(database.Path);
        await store.SettleAsync("EVNT-M1", "booking.scheduled", SettledAs.Processed, T0);

        foreach (var file in new[] { database.Path, database.Path + "-wal", database.Path + "-shm" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
    }

    [Fact]
    public async Task Under_continuous_writes_the_write_ahead_log_is_restarted_instead_of_growing()
    {
        using var database = new TempDatabase();
        var path = database.Path;
        // Finishing asked for at any log size: whether the log reaches the default 32 MB within the test depends
        // on the machine's write rate, the mechanism that starts it over does not.
        using var store = new SqliteEventStore(path, new SqliteEventStoreOptions(), walFinishAboveBytes: 0);
        var next = 0;
        // 8 receivers' worth of claims and settles, never pausing: the writer always has a transaction coming.
        var (before, after, rounds) = await WriteAheadLog.RestartsUnderLoadAsync(path, workers: 8, async () =>
        {
            var id = $"EVNT-L{Interlocked.Increment(ref next)}";
            await store.TryBeginAsync(id, "booking.scheduled", T0, T0.AddMinutes(2));
            await store.SettleAsync(id, "booking.scheduled", SettledAs.Processed, T0);
        });

        // Each restart means every frame was copied into the database and the log starts over from its
        // beginning, so its size stays bounded however long the load lasts. A checkpoint runs every second, and
        // each one that the writer finishes is a restart: 3 or 4 in the window (without the writer's part, 0 to 2).
        Assert.True(after - before >= 2, $"{after - before} restarts of the WAL in 3.5 s of writes ({rounds} events; sequence {before} -> {after})");
    }

    [Fact]
    public async Task Dispose_stores_every_operation_already_queued()
    {
        using var database = new TempDatabase();
        var path = database.Path;
        Task[] pending;
        using (var store = new SqliteEventStore(path))
        {
            // Not awaited: the writer is still working through them when Dispose is called.
            pending = [.. Enumerable.Range(0, 500).Select(i => store.SettleAsync($"EVNT-D{i}", "booking.scheduled", SettledAs.Processed, T0).AsTask())];
        }
        await Task.WhenAll(pending);

        using var reopened = new SqliteEventStore(path);
        for (var i = 0; i < 500; i++)
        {
            Assert.Equal(SettledAs.Processed, await reopened.GetSettledAsync($"EVNT-D{i}"));
        }
        await Assert.ThrowsAsync<ObjectDisposedException>(async () =>
        {
            var closed = new SqliteEventStore(null);
            closed.Dispose();
            await closed.GetSettledAsync("EVNT-D0");
        });
    }

    /// <summary>A database file name in the temp folder; the file and its WAL and shared-memory files go on dispose.</summary>
    private sealed class TempDatabase : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"oncehub-store-{Guid.NewGuid():N}.db");

        public void Dispose()
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in new[] { Path, Path + "-wal", Path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}
