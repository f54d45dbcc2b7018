using System.Collections.Concurrent;

namespace OnceHub.Webhooks.Tests;

/// <summary>
/// The contract of a store that several receiver processes share: what one instance commits, every other
/// instance on the same storage sees and honours.
/// </summary>
public abstract class SharedEventStoreContract : EventStoreContract
{
    [SkippableFact]
    public async Task Concurrent_claims_and_settles_from_two_stores_on_one_storage_give_one_owner_per_id_and_survive_reopening()
    {
        // 200 ids, every fourth delivered twice: 250 claims from 32 workers through two stores on one storage
        // (as two receiver processes would), so duplicates of one id race each other for the claim.
        var deliveries = new ConcurrentQueue<int>(
            Enumerable.Range(0, 200).SelectMany(i => i % 4 == 0 ? new[] { i, i } : new[] { i }).OrderBy(i => (i * 7919) % 251));
        var outcomes = new ConcurrentBag<(int Id, BeginOutcome Outcome)>();
        using (var one = Open())
        using (var two = Open())
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

        using var reopened = Open();
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(i % 5 == 0 ? SettledAs.Ignored : SettledAs.Processed, await reopened.GetSettledAsync($"EVNT-C{i}"));
            Assert.Equal(BeginOutcome.AlreadyDone, await reopened.TryBeginAsync($"EVNT-C{i}", "booking.scheduled", T0.AddHours(1), T0.AddHours(2)));
        }
    }

    [SkippableFact]
    public async Task A_claim_through_one_store_holds_in_another_until_its_lease_runs_out_and_failures_count_across_both()
    {
        using var one = Open();
        using var two = Open();

        Assert.Equal(BeginOutcome.Started, await one.TryBeginAsync("EVNT-X1", "booking.scheduled", T0, T0.AddMinutes(2)));
        Assert.Equal(BeginOutcome.InFlight, await two.TryBeginAsync("EVNT-X1", "booking.scheduled", T0.AddMinutes(1), T0.AddMinutes(3)));
        // the replica holding it died: once its lease ran out the other one takes over, fails, and the count is shared
        Assert.Equal(BeginOutcome.Started, await two.TryBeginAsync("EVNT-X1", "booking.scheduled", T0.AddMinutes(2), T0.AddMinutes(4)));
        Assert.Equal(1, await two.RecordFailureAsync("EVNT-X1", T0.AddMinutes(2)));
        Assert.Equal(BeginOutcome.Started, await one.TryBeginAsync("EVNT-X1", "booking.scheduled", T0.AddMinutes(3), T0.AddMinutes(5)));
        Assert.Equal(2, await one.RecordFailureAsync("EVNT-X1", T0.AddMinutes(3)));
        Assert.Equal(BeginOutcome.Started, await two.TryBeginAsync("EVNT-X1", "booking.scheduled", T0.AddMinutes(4), T0.AddMinutes(6)));
        await two.SettleAsync("EVNT-X1", "booking.scheduled", SettledAs.Processed, T0.AddMinutes(4));

        Assert.Equal(SettledAs.Processed, await one.GetSettledAsync("EVNT-X1"));
        Assert.Equal(BeginOutcome.AlreadyDone, await one.TryBeginAsync("EVNT-X1", "booking.scheduled", T0.AddMinutes(5), T0.AddMinutes(7)));
    }

    [SkippableFact]
    public async Task The_quarantine_one_store_writes_is_listed_replayed_and_deleted_through_another()
    {
        using var receiver = Open();
        using var operator_ = Open();
        var kept = await receiver.QuarantineAsync("EVNT-QX", "booking.canceled", "handler failed 5 times", new byte[] { 9, 8, 7 }, T0);
        var dropped = await receiver.QuarantineAsync(null, null, "not JSON", new byte[] { 1 }, T0.AddSeconds(1));

        Assert.Equal([kept, dropped], (await operator_.ListQuarantineAsync()).Select(q => q.Id));
        var entry = (await operator_.GetQuarantinedAsync(kept))!;
        Assert.Equal(("EVNT-QX", "booking.canceled", "handler failed 5 times"), (entry.EventId, entry.EventType, entry.Reason));
        Assert.Equal([9, 8, 7], entry.Body);
        await operator_.MarkReplayedAsync(kept, T0.AddMinutes(1));
        Assert.True(await operator_.DeleteQuarantinedAsync(dropped));

        Assert.Empty(await receiver.ListQuarantineAsync());
        Assert.Equal(T0.AddMinutes(1), Assert.Single(await receiver.ListQuarantineAsync(includeReplayed: true)).ReplayedAt);
    }

    [SkippableFact]
    public async Task A_late_event_at_one_replica_is_stale_after_a_newer_one_was_processed_at_another()
    {
        using var one = Open();
        using var two = Open();
        var seenAtTwo = new List<bool>();
        var atOne = BookingLifecycle.Pipeline(one, (_, _) => Task.CompletedTask);
        var atTwo = BookingLifecycle.Pipeline(two, (e, _) =>
        {
            seenAtTwo.Add(e.IsStale);
            return Task.CompletedTask;
        });

        await BookingLifecycle.DeliverAsync(atOne, BookingLifecycle.Body("BKNG-REP1", 2));
        await BookingLifecycle.DeliverAsync(atTwo, BookingLifecycle.Body("BKNG-REP1", 1));

        Assert.Equal([true], seenAtTwo);
    }

    [SkippableFact]
    public async Task Concurrent_settles_of_one_object_from_two_stores_keep_its_latest_time()
    {
        using var one = Open();
        using var two = Open();
        // 64 settles of one object with times in a shuffled order, half through each store
        var times = Enumerable.Range(0, 64).OrderBy(i => (i * 37) % 64).ToList();

        await Task.WhenAll(times.Select(i => Task.Run(async () =>
            await (i % 2 == 0 ? one : two).SettleAsync($"EVNT-M{i}", "booking.rescheduled", SettledAs.Processed, T0,
                new ObjectUpdate("BKNG-M1", T0.AddMinutes(i))))));

        Assert.Equal(T0.AddMinutes(63), await one.GetLastUpdatedTimeAsync("BKNG-M1"));
        Assert.Equal(T0.AddMinutes(63), await two.GetLastUpdatedTimeAsync("BKNG-M1"));
    }
}
