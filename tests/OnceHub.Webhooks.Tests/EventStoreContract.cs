using System.Collections.Concurrent;

namespace OnceHub.Webhooks.Tests;

/// <summary>
/// The <see cref="IEventStore"/> contract, stated once: every store runs these cases through a subclass that says
/// how to open it. Stores that several processes share also run <see cref="SharedEventStoreContract"/>.
/// </summary>
public abstract class EventStoreContract
{
    protected static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Opens a store on this test's storage; a second call opens another instance on the same storage.</summary>
    protected abstract IEventStore Open();

    [SkippableFact]
    public async Task A_claim_holds_until_its_lease_runs_out_and_a_settled_id_stays_settled()
    {
        using var store = Open();

        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync("EVNT-A1", "booking.scheduled", T0, T0.AddMinutes(2)));
        Assert.Equal(BeginOutcome.InFlight, await store.TryBeginAsync("EVNT-A1", "booking.scheduled", T0.AddMinutes(1), T0.AddMinutes(3)));
        // the first delivery crashed: after its lease a redelivery takes over
        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync("EVNT-A1", "booking.scheduled", T0.AddMinutes(2), T0.AddMinutes(4)));
        Assert.Null(await store.GetSettledAsync("EVNT-A1"));
        await store.SettleAsync("EVNT-A1", "booking.scheduled", SettledAs.Processed, T0.AddMinutes(3));
        Assert.Equal(BeginOutcome.AlreadyDone, await store.TryBeginAsync("EVNT-A1", "booking.scheduled", T0.AddHours(1), T0.AddHours(2)));
        Assert.Equal(SettledAs.Processed, await store.GetSettledAsync("EVNT-A1"));
    }

    [SkippableFact]
    public async Task Failures_release_the_id_and_are_counted_unless_the_sender_hung_up()
    {
        using var store = Open();

        Assert.Equal(0, await store.RecordFailureAsync("EVNT-NEVERSEEN", T0));
        await store.TryBeginAsync("EVNT-F1", "booking.scheduled", T0, T0.AddMinutes(2));
        Assert.Equal(1, await store.RecordFailureAsync("EVNT-F1", T0));
        Assert.Equal(BeginOutcome.Started, await store.TryBeginAsync("EVNT-F1", "booking.scheduled", T0, T0.AddMinutes(2)));
        Assert.Equal(1, await store.RecordFailureAsync("EVNT-F1", T0, counts: false));
        await store.TryBeginAsync("EVNT-F1", "booking.scheduled", T0, T0.AddMinutes(2));
        Assert.Equal(2, await store.RecordFailureAsync("EVNT-F1", T0));
    }

    [SkippableFact]
    public async Task A_failure_reported_for_an_id_already_settled_leaves_it_settled()
    {
        using var store = Open();
        await store.TryBeginAsync("EVNT-F2", "booking.scheduled", T0, T0.AddMinutes(2));
        await store.SettleAsync("EVNT-F2", "booking.scheduled", SettledAs.Processed, T0);

        Assert.Equal(0, await store.RecordFailureAsync("EVNT-F2", T0.AddSeconds(1)));
        Assert.Equal(SettledAs.Processed, await store.GetSettledAsync("EVNT-F2"));
        Assert.Equal(BeginOutcome.AlreadyDone, await store.TryBeginAsync("EVNT-F2", "booking.scheduled", T0.AddSeconds(2), T0.AddMinutes(3)));
    }

    [SkippableFact]
    public async Task Quarantine_entries_keep_the_body_and_leave_the_list_once_replayed()
    {
        using var store = Open();

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

    [SkippableFact]
    public async Task Settled_ids_older_than_the_cutoff_are_purged_oldest_first_in_batches_and_nothing_else_is()
    {
        using var store = Open();
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

    [SkippableFact]
    public async Task A_deleted_quarantine_entry_is_gone_and_its_number_is_not_reused()
    {
        using var store = Open();
        var first = await store.QuarantineAsync(null, null, "not JSON", new byte[] { 1 }, T0);
        var second = await store.QuarantineAsync(null, null, "not JSON", new byte[] { 2 }, T0);

        Assert.True(await store.DeleteQuarantinedAsync(second));
        Assert.False(await store.DeleteQuarantinedAsync(second));
        Assert.Null(await store.GetQuarantinedAsync(second));
        Assert.Equal(first, Assert.Single(await store.ListQuarantineAsync(includeReplayed: true)).Id);
        Assert.True(await store.QuarantineAsync(null, null, "not JSON", new byte[] { 3 }, T0) > second);
    }

    [SkippableFact]
    public async Task Concurrent_claims_of_the_same_ids_on_one_store_give_exactly_one_owner_per_id()
    {
        using var store = Open();
        // 100 ids, each claimed by 4 deliveries at once from 16 workers: only the claim is atomic, nothing else
        // orders them.
        var deliveries = new ConcurrentQueue<int>(Enumerable.Range(0, 400).Select(i => i % 100));
        var outcomes = new ConcurrentBag<(int Id, BeginOutcome Outcome)>();
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (deliveries.TryDequeue(out var i))
            {
                outcomes.Add((i, await store.TryBeginAsync($"EVNT-S{i}", "booking.scheduled", T0, T0.AddMinutes(2))));
            }
        })));

        Assert.All(outcomes.GroupBy(o => o.Id), group =>
        {
            Assert.Single(group, o => o.Outcome == BeginOutcome.Started);
            Assert.Equal(3, group.Count(o => o.Outcome == BeginOutcome.InFlight));
        });
        Assert.Equal(100, outcomes.Count(o => o.Outcome == BeginOutcome.Started));
    }
}
