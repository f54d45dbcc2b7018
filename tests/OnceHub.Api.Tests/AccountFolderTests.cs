using System.Diagnostics;
using System.Text.Json;
using OnceHub.Account;
using OnceHub.TestSupport;
using Xunit.Abstractions;

namespace OnceHub.Api.Tests;

/// <summary>The file account's folder: no secret left behind by a crash, owner-only files, a fair lock.</summary>
[Collection(ManyProcesses.Name)]
public sealed class AccountFolderTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = TempDir.Create();

    public void Dispose() => TempDir.Delete(_dir);

    [Fact]
    public void A_temp_file_left_by_a_crashed_writer_is_removed_when_the_account_is_opened()
    {
        var secret = WebhookRules.NewSecret();
        var stale = Path.Combine(_dir, $"{FileAccountStore.StateFileName}.{Guid.NewGuid():N}.tmp");
        // What a writer killed between writing and renaming leaves: a full state with its secrets.
        File.WriteAllText(stale, $"{{\"format\": 1, \"webhooks\": [], \"half-written\": \"{secret}\"}}");

        var store = new FileAccountStore(_dir);
        Assert.True(store.Create("n", "https://h.example.com", ["booking"]).IsSuccess);

        Assert.False(File.Exists(stale));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        Assert.All(Directory.GetFiles(_dir, "*", SearchOption.AllDirectories), f => Secrets.AssertAbsent(File.ReadAllText(f), secret));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Every_file_of_the_account_is_the_owners_alone()
    {
        var folder = Path.Combine(_dir, "account");
        var store = new FileAccountStore(folder);
        Assert.True(store.Create("n", "https://h.example.com", ["booking"]).IsSuccess);

        const UnixFileMode ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal(ownerOnly | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(store.StatePath));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(store.LockPath));
        Assert.True(store.Create("o", "https://h.example.com", ["booking"]).IsSuccess);
        Assert.Equal(ownerOnly, File.GetUnixFileMode(store.JournalPath)); // the second change went to the journal
        // Files made readable to others (by hand, or by an older build) are narrowed when the account is next opened.
        File.SetUnixFileMode(store.StatePath, ownerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.SetUnixFileMode(store.JournalPath, ownerOnly | UnixFileMode.OtherRead);
        Assert.True(new FileAccountStore(folder).Create("m", "https://h.example.com", ["booking"]).IsSuccess);
        Assert.Equal(ownerOnly, File.GetUnixFileMode(store.StatePath));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(store.JournalPath));
    }

    [Fact]
    public void A_ticket_of_a_dead_waiter_does_not_block_the_queue()
    {
        var queue = Path.Combine(_dir, FileAccountStore.QueueDirectoryName);
        Directory.CreateDirectory(queue);
        // Older than any new ticket, and held by no one: its process died while waiting.
        var dead = Path.Combine(queue, $"{0:D19}-{1:D10}-{Guid.NewGuid():N}.wait");
        File.WriteAllText(dead, "");

        var store = new FileAccountStore(_dir, new AccountStoreOptions { LockTimeout = TimeSpan.FromSeconds(5) });
        Assert.True(store.Create("n", "https://h.example.com", ["booking"]).IsSuccess);
        Assert.False(File.Exists(dead));
        Assert.Empty(Directory.GetFiles(queue));
    }

    [Fact]
    public async Task A_writer_waits_for_a_live_ticket_ahead_of_it_and_goes_on_when_it_is_released_or_gives_up_at_its_deadline()
    {
        var queue = Path.Combine(_dir, FileAccountStore.QueueDirectoryName);
        Directory.CreateDirectory(queue);
        // A live waiter ahead: an older ticket held locked, as a process in line holds its own.
        var ahead = Path.Combine(queue, $"{1:D19}-{1:D10}-{Guid.NewGuid():N}.wait");
        var held = new FileStream(ahead, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
        try
        {
            var impatient = new FileAccountStore(_dir, new AccountStoreOptions { LockTimeout = TimeSpan.FromMilliseconds(300) });
            var error = Assert.Throws<AccountStoreException>(() => impatient.Create("late", "https://h.example.com", ["booking"]));
            Assert.Contains("stayed locked", error.Message, StringComparison.Ordinal);
            Assert.Contains("waiting in line", error.Message, StringComparison.Ordinal);

            var patient = new FileAccountStore(_dir, new AccountStoreOptions { LockTimeout = TimeSpan.FromSeconds(30) });
            var waiting = Task.Run(() => patient.Create("patient", "https://h.example.com", ["booking"]));
            await Task.Delay(200);
            Assert.False(waiting.IsCompleted); // still in line behind the held ticket
            held.Dispose();
            File.Delete(ahead);
            Assert.True((await waiting.WaitAsync(TimeSpan.FromSeconds(30))).IsSuccess);
        }
        finally
        {
            held.Dispose();
        }

        Assert.Equal(["patient"], new FileAccountStore(_dir).Snapshot().Select(w => w.Name));
        Assert.Empty(Directory.GetFiles(queue));
    }

    [Fact]
    public void A_journal_line_cut_short_by_a_crash_is_ignored_and_cut_off_by_the_next_writer()
    {
        var store = new FileAccountStore(_dir);
        Assert.True(store.Create("first", "https://h.example.com", ["booking"]).IsSuccess); // the snapshot
        Assert.True(store.Create("second", "https://h.example.com", ["booking"]).IsSuccess); // a journal line
        var complete = File.ReadAllBytes(store.JournalPath);
        // What a writer killed mid-append leaves: the start of a line, no newline.
        File.AppendAllText(store.JournalPath, "{\"op\":\"create\",\"webhook\":{\"id\":\"WHK-TORN");

        var reopened = new FileAccountStore(_dir);
        Assert.Equal(["first", "second"], reopened.Snapshot().Select(w => w.Name));
        Assert.True(reopened.Create("third", "https://h.example.com", ["booking"]).IsSuccess);

        Assert.Equal(complete, File.ReadAllBytes(store.JournalPath).AsSpan(0, complete.Length).ToArray());
        Assert.Equal(["first", "second", "third"], new FileAccountStore(_dir).Snapshot().Select(w => w.Name));
        Assert.DoesNotContain("WHK-TORN", File.ReadAllText(store.JournalPath));
    }

    [Fact]
    public void The_journal_is_folded_into_a_new_snapshot_that_other_stores_follow()
    {
        var writer = new FileAccountStore(_dir);
        var reader = new FileAccountStore(_dir);
        var ids = new List<string>();
        for (var i = 0; i < 1_010; i++)
        {
            ids.Add(writer.Create($"hook {i:0000}", "https://h.example.com", ["booking"]).Value!.Id);
            if (i % 100 == 0)
            {
                Assert.Equal(ids, reader.Snapshot().Select(w => w.Id)); // the reader keeps up as it goes
            }
        }

        Assert.True(writer.Delete(ids[5]).IsSuccess);
        ids.RemoveAt(5);
        // After 1,000 changes the snapshot holds them and the journal starts again, short.
        Assert.True(new FileInfo(writer.JournalPath).Length < 10_000, $"journal of {new FileInfo(writer.JournalPath).Length} bytes");
        Assert.Equal(ids, reader.Snapshot().Select(w => w.Id));
        Assert.Equal(ids, new FileAccountStore(_dir).Snapshot().Select(w => w.Id));
    }

    /// <summary>How many emulator processes the many-writers test starts; tests/OnceHub.Benchmarks/many-writers.sh sets it to the full size.</summary>
    public const string WritersVariable = "ONCEHUB_ACCOUNT_WRITERS";

    [Fact]
    public async Task Many_emulator_processes_write_to_one_account_of_5000_webhooks_in_turn()
    {
        const int existing = 5_000;
        // Eight by default: enough to queue writers behind each other, and cheap enough on a busy small machine.
        var processes = int.TryParse(Environment.GetEnvironmentVariable(WritersVariable), out var set) && set > 0 ? set : 8;
        const int createsEach = 2;
        Seed(existing);

        var started = new List<Process>();
        try
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < processes; i++)
            {
                started.Add(EmulatorProcess.Start(["--port", "0", "--data", _dir, "--no-rate-limits"], apiKeyVariable: Harness.ApiKey));
            }

            var urls = await Task.WhenAll(started.Select(async p =>
                new Uri((await p.StandardOutput.ReadLineAsync().WaitAsync(Deadline.Seconds(120)))!)));
            output.WriteLine($"{processes} emulator processes up in {clock.Elapsed.TotalSeconds:0.0} s");

            var clients = urls.Select(url => OnceHubClient.Create(new OnceHubClientOptions
            {
                BaseUrl = url,
                ApiKey = Harness.ApiKey,
                MaxAttempts = 1,
                RequestsPerSecond = null,
                RequestsPerWindow = null,
                AttemptTimeout = TimeSpan.FromSeconds(120),
                TotalTimeout = TimeSpan.FromSeconds(240),
            })).ToList();
            try
            {
                // One create each first, a few at a time: many cold processes compiling their request path
                // on 2 cores measure the JIT, not the lock. The measured creates come after, all at once.
                clock.Restart();
                using var few = new SemaphoreSlim(8);
                await Task.WhenAll(clients.Select(async (client, p) =>
                {
                    await few.WaitAsync();
                    try
                    {
                        await client.CreateAsync(new WebhookRequest($"warm-up {p:00}", "https://h.example.com/w", ["booking"]));
                    }
                    finally
                    {
                        few.Release();
                    }
                }));
                output.WriteLine($"warm-up: one create per process in {clock.Elapsed.TotalSeconds:0.0} s");

                using var go = new ManualResetEventSlim();
                var writers = clients.Select((client, p) => Task.Run(async () =>
                {
                    go.Wait();
                    var latencies = new List<double>();
                    for (var i = 0; i < createsEach; i++)
                    {
                        var one = Stopwatch.StartNew();
                        await client.CreateAsync(new WebhookRequest($"writer {p:00} #{i}", "https://h.example.com/w", ["booking"]));
                        latencies.Add(one.Elapsed.TotalSeconds);
                    }

                    return latencies;
                })).ToList();
                clock.Restart();
                go.Set();
                var all = (await Task.WhenAll(writers)).SelectMany(l => l).Order().ToList();
                output.WriteLine(
                    $"{all.Count} creates from {processes} processes in {clock.Elapsed.TotalSeconds:0.00} s; " +
                    $"per create (lock wait + work): median {all[all.Count / 2]:0.000} s, p90 {all[(int)(all.Count * 0.9)]:0.000} s, max {all[^1]:0.000} s");
            }
            finally
            {
                clients.ForEach(c => c.Dispose());
            }

            // Nothing lost, nothing doubled, every write succeeded (a lock timeout is a 500 and throws above).
            var state = new FileAccountStore(_dir).Snapshot();
            Assert.Equal(existing + (processes * (createsEach + 1)), state.Count);
            Assert.Equal(state.Count, state.Select(w => w.Name).Distinct().Count());
            Assert.Empty(Directory.GetFiles(Path.Combine(_dir, FileAccountStore.QueueDirectoryName)));
        }
        finally
        {
            foreach (var process in started)
            {
                process.Kill();
                await process.WaitForExitAsync();
                process.Dispose();
            }
        }
    }

    private void Seed(int count)
    {
        var now = DateTimeOffset.UtcNow;
        var file = new AccountFileJson
        {
            Format = 1,
            // As the store itself writes it: a snapshot continued by a journal.
            Journal = Guid.NewGuid().ToString("N"),
            Webhooks = [.. Enumerable.Range(0, count).Select(i => WireFormat.ToJson(
                new StoredWebhook(WebhookRules.NewId(), $"existing {i:0000}", $"https://h.example.com/{i}", ["booking", "conversation"], WebhookRules.ApiVersion, now, WebhookRules.NewSecret()),
                includeSecret: true))],
        };
        File.WriteAllText(Path.Combine(_dir, FileAccountStore.StateFileName), JsonSerializer.Serialize(file, OnceHubJsonContext.Default.AccountFileJson));
    }
}

/// <summary>Tests that start dozens of processes run alone: on a small machine they would starve the timing of others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ManyProcesses
{
    public const string Name = "many processes";
}
