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

    [SkippableFact]
    public async Task An_object_keeps_the_newest_last_updated_time_settled_whatever_order_the_settles_come_in()
    {
        using var store = Open();
        Assert.Null(await store.GetLastUpdatedTimeAsync("BKNG-NEVERSEEN"));

        await store.SettleAsync("EVNT-O2", "booking.rescheduled", SettledAs.Processed, T0, new ObjectUpdate("BKNG-O1", T0.AddHours(2)));
        await store.SettleAsync("EVNT-O1", "booking.scheduled", SettledAs.Processed, T0, new ObjectUpdate("BKNG-O1", T0.AddHours(1)));
        Assert.Equal(T0.AddHours(2), await store.GetLastUpdatedTimeAsync("BKNG-O1"));

        await store.SettleAsync("EVNT-O3", "booking.canceled", SettledAs.Processed, T0, new ObjectUpdate("BKNG-O1", T0.AddHours(3)));
        Assert.Equal(T0.AddHours(3), await store.GetLastUpdatedTimeAsync("BKNG-O1"));
        // another object, and a settle without an update, leave it as it is
        await store.SettleAsync("EVNT-O4", "conversation.started", SettledAs.Processed, T0, new ObjectUpdate("CVR-O1", T0));
        await store.SettleAsync("EVNT-O5", "booking.completed", SettledAs.Processed, T0);
        Assert.Equal(T0.AddHours(3), await store.GetLastUpdatedTimeAsync("BKNG-O1"));
        Assert.Equal(T0, await store.GetLastUpdatedTimeAsync("CVR-O1"));
        Assert.Equal(SettledAs.Processed, await store.GetSettledAsync("EVNT-O1"));
    }

    [SkippableFact]
    public async Task A_skipped_event_is_settled_as_skipped_and_its_redelivery_is_already_done()
    {
        using var store = Open();
        await store.TryBeginAsync("EVNT-K1", "booking.scheduled", T0, T0.AddMinutes(2));
        await store.SettleAsync("EVNT-K1", "booking.scheduled", SettledAs.Skipped, T0);

        Assert.Equal(SettledAs.Skipped, await store.GetSettledAsync("EVNT-K1"));
        Assert.Equal(BeginOutcome.AlreadyDone, await store.TryBeginAsync("EVNT-K1", "booking.scheduled", T0.AddMinutes(1), T0.AddMinutes(3)));
        Assert.Equal(1, await store.PurgeSettledAsync(T0.AddSeconds(1), limit: 10));
        Assert.Null(await store.GetSettledAsync("EVNT-K1"));
    }

    [SkippableFact]
    public async Task Object_times_settled_before_the_cutoff_are_purged_after_the_settled_ids_within_the_same_limit()
    {
        using var store = Open();
        var cutoff = T0.AddDays(30);
        await store.SettleAsync("EVNT-P1", "booking.scheduled", SettledAs.Processed, T0, new ObjectUpdate("BKNG-P1", T0));
        await store.SettleAsync("EVNT-P2", "booking.scheduled", SettledAs.Processed, T0.AddMinutes(1), new ObjectUpdate("BKNG-P2", T0));
        await store.SettleAsync("EVNT-P3", "booking.scheduled", SettledAs.Processed, cutoff.AddSeconds(1), new ObjectUpdate("BKNG-P3", T0));
        // a later settle of an old object keeps its time in memory past the cutoff
        await store.SettleAsync("EVNT-P4", "booking.canceled", SettledAs.Processed, cutoff.AddSeconds(1), new ObjectUpdate("BKNG-P1", T0.AddHours(1)));

        Assert.Equal(2, await store.PurgeSettledAsync(cutoff, limit: 2));
        Assert.Equal(T0, await store.GetLastUpdatedTimeAsync("BKNG-P2"));
        Assert.Equal(1, await store.PurgeSettledAsync(cutoff, limit: 2));
        Assert.Null(await store.GetLastUpdatedTimeAsync("BKNG-P2"));
        Assert.Equal(0, await store.PurgeSettledAsync(cutoff, limit: 2));
        Assert.Equal(T0.AddHours(1), await store.GetLastUpdatedTimeAsync("BKNG-P1"));
        Assert.Equal(T0, await store.GetLastUpdatedTimeAsync("BKNG-P3"));
    }

    [SkippableFact]
    public async Task A_lifecycle_delivered_in_reverse_ends_in_its_newest_state_when_the_handler_passes_over_stale_events()
    {
        using var store = Open();
        var projection = new Dictionary<string, string>();
        var stale = new List<bool>();
        var pipeline = BookingLifecycle.Pipeline(store, (e, _) =>
        {
            stale.Add(e.IsStale);
            if (!e.IsStale)
            {
                projection[e.Update!.ObjectId] = e.ReadEvent().Booking!.Status?.Value ?? "";
            }
            return Task.CompletedTask;
        });

        for (var step = BookingLifecycle.Steps.Length - 1; step >= 0; step--)
        {
            Assert.Equal(ReceiveOutcome.Processed, (await BookingLifecycle.DeliverAsync(pipeline, BookingLifecycle.Body("BKNG-REV1", step))).Outcome);
        }

        Assert.Equal([false, true, true], stale);
        Assert.Equal("canceled", projection["BKNG-REV1"]);
        Assert.Equal(BookingLifecycle.Start.AddHours(2), await store.GetLastUpdatedTimeAsync("BKNG-REV1"));
    }

    [SkippableFact]
    public async Task With_stale_events_skipped_a_reversed_lifecycle_is_acknowledged_and_only_its_newest_step_is_handled()
    {
        using var store = Open();
        var projection = new Dictionary<string, string>();
        var pipeline = BookingLifecycle.Pipeline(store, (e, _) =>
        {
            projection[e.Update!.ObjectId] = e.ReadEvent().Booking!.Status?.Value ?? "";
            return Task.CompletedTask;
        }, skipStale: true);
        var older = BookingLifecycle.Body("BKNG-REV2", 1);

        var results = new List<ReceiveResult>
        {
            await BookingLifecycle.DeliverAsync(pipeline, BookingLifecycle.Body("BKNG-REV2", 2)),
            await BookingLifecycle.DeliverAsync(pipeline, older),
            await BookingLifecycle.DeliverAsync(pipeline, BookingLifecycle.Body("BKNG-REV2", 0)),
            // a redelivery of a skipped event is a duplicate, as for any settled id
            await BookingLifecycle.DeliverAsync(pipeline, older),
        };

        Assert.Equal([ReceiveOutcome.Processed, ReceiveOutcome.Skipped, ReceiveOutcome.Skipped, ReceiveOutcome.Duplicate], results.Select(r => r.Outcome));
        Assert.All(results, r => Assert.Equal(200, r.StatusCode));
        Assert.Equal("canceled", projection["BKNG-REV2"]);
        var olderId = System.Text.Json.JsonDocument.Parse(older).RootElement.GetProperty("id").GetString()!;
        Assert.Equal(SettledAs.Skipped, await store.GetSettledAsync(olderId));
    }

    [SkippableFact]
    public async Task An_event_with_the_same_last_updated_time_as_the_newest_processed_is_not_stale()
    {
        using var store = Open();
        var stale = new List<bool>();
        var pipeline = BookingLifecycle.Pipeline(store, (e, _) =>
        {
            stale.Add(e.IsStale);
            return Task.CompletedTask;
        }, skipStale: true);
        var at = BookingLifecycle.Start;

        await BookingLifecycle.DeliverAsync(pipeline, BookingLifecycle.Body("BKNG-EQ1", "booking.completed", "completed", at));
        var same = await BookingLifecycle.DeliverAsync(pipeline, BookingLifecycle.Body("BKNG-EQ1", "booking.no_show", "no_show", at));

        Assert.Equal(ReceiveOutcome.Processed, same.Outcome);
        Assert.Equal([false, false], stale);
    }
}
