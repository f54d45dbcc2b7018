using OnceHub.TestSupport;

namespace OnceHub.Webhooks.Tests;

/// <summary>What only the SQLite store promises beyond the contract (<see cref="EventStoreContract"/>): its files.</summary>
public sealed class SqliteEventStoreTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

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
        // Finishing asked for at any log size: whether the log reaches the default threshold within the test
        // depends on the machine's write rate, the mechanism that starts it over does not.
        using var store = new SqliteEventStore(path, new SqliteEventStoreOptions(), walFinishAboveBytes: 0);
        var next = 0;
        // 8 receivers' worth of claims and settles, never pausing: the writer always has a transaction coming.
        var (before, after, rounds) = await WriteAheadLog.RestartsUnderLoadAsync(path, workers: 8, async () =>
        {
            var id = $"EVNT-L{Interlocked.Increment(ref next)}";
            await store.TryBeginAsync(id, "booking.scheduled", T0, T0.AddMinutes(2));
            await store.SettleAsync(id, "booking.scheduled", SettledAs.Processed, T0);
        }, restarts: 2);

        // Each restart means every frame was copied into the database and the log starts over from its
        // beginning, so its size stays bounded however long the load lasts: two restarts in a row show it is not chance.
        Assert.True(after - before >= 2, $"{after - before} restarts of the WAL under continuous writes ({rounds} events; sequence {before} -> {after})");
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

    [Fact]
    public async Task A_file_whose_purge_index_lists_fewer_settled_states_gets_it_remade_with_every_state_and_keeps_its_ids()
    {
        using var database = new TempDatabase();
        using (var older = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database.Path};Pooling=False"))
        {
            older.Open();
            using var create = older.CreateCommand();
            create.CommandText = """
                CREATE TABLE events (event_id TEXT PRIMARY KEY, event_type TEXT NOT NULL, state TEXT NOT NULL,
                    lease_until INTEGER, failures INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL);
                CREATE INDEX events_settled_at ON events (updated_at) WHERE state IN ('processed', 'ignored', 'quarantined');
                INSERT INTO events VALUES ('EVNT-OLDFILE', 'booking.scheduled', 'processed', NULL, 0, '2026-01-01T12:00:00.0000000Z');
                """;
            create.ExecuteNonQuery();
        }

        using (var store = new SqliteEventStore(database.Path))
        {
            Assert.Equal(SettledAs.Processed, await store.GetSettledAsync("EVNT-OLDFILE"));
        }

        using var check = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={database.Path};Pooling=False");
        check.Open();
        using var read = check.CreateCommand();
        read.CommandText = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'events_settled_at'";
        Assert.Contains("'skipped'", (string)read.ExecuteScalar()!, StringComparison.Ordinal);
    }
}
