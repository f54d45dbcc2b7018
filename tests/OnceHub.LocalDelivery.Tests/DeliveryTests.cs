using Microsoft.Extensions.Time.Testing;
using OnceHub.Contracts;
using OnceHub.Contracts.Delivery;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery.Tests;

public class DeliveryTests
{
    // A fresh virtual clock per deliverer, as each delivering process has its own.
    private static LocalDeliveryOptions VirtualTime() => new() { Time = DeliveryTime.Virtual(), AttemptTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>The account's delivery store file, opened directly to look at (or rewrite) what the store wrote.</summary>
    private static Microsoft.Data.Sqlite.SqliteConnection OpenStoreFile(TempAccount account)
    {
        var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(account.Folder, DeliveryStore.FileName)};Pooling=False");
        connection.Open();
        return connection;
    }

    [Fact]
    public async Task An_event_reaches_each_subscribed_webhook_once_signed_with_its_own_secret_and_no_other()
    {
        await using var bookings = await StandInReceiver.StartAsync(_ => 200);
        await using var conversations = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        var b = account.Add("bookings", bookings.UrlFor("/bookings"), "booking");
        var c = account.Add("conversations", conversations.UrlFor("/conversations"), "conversation");
        var both = account.Add("scheduled-and-closed", bookings.UrlFor("/both"), "booking.scheduled", "conversation.closed");
        using var deliverer = account.Deliverer(VirtualTime());

        var scheduled = await deliverer.TriggerAsync("booking.scheduled", []);
        var started = await deliverer.TriggerAsync("conversation.started", []);

        Assert.Equal([b.Id, both.Id], scheduled.Webhooks.Select(w => w.WebhookId));
        Assert.All(scheduled.Webhooks, w => Assert.Equal(WebhookOutcomeKind.Delivered, w.Kind));
        Assert.Equal([c.Id], started.Webhooks.Select(w => w.WebhookId));
        var toBookings = bookings.Requests.Where(r => r.Path == "/bookings").ToList();
        var toBoth = bookings.Requests.Where(r => r.Path == "/both").ToList();
        Assert.Equal([scheduled.EventId], toBookings.Select(r => r.EventId));
        // Assumption (undocumented by OnceHub): every webhook of one fan-out gets the same event id.
        Assert.Equal([scheduled.EventId], toBoth.Select(r => r.EventId));
        Assert.Equal([started.EventId], conversations.Requests.Select(r => r.EventId));
        Assert.True(new SignatureVerifier(b.Secret).Verify(toBookings[0].Signature, toBookings[0].Body).IsValid);
        Assert.True(new SignatureVerifier(both.Secret).Verify(toBoth[0].Signature, toBoth[0].Body).IsValid);
        Assert.False(new SignatureVerifier(b.Secret).Verify(toBoth[0].Signature, toBoth[0].Body).IsValid);
        Assert.True(new SignatureVerifier(c.Secret).Verify(conversations.Requests.First().Signature, conversations.Requests.First().Body).IsValid);
        Assert.Equal(0, deliverer.Store.PendingCount());
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(3, 4)]
    [InlineData(9, 10)]
    public async Task A_receiver_down_for_the_first_attempts_gets_the_event_at_the_right_attempt(int failures, int expectedAttempt)
    {
        await using var receiver = await StandInReceiver.StartAsync(n => n <= failures ? 503 : 200);
        using var account = new TempAccount();
        var webhook = account.Add("bookings", receiver.UrlFor("/bookings"), "booking");
        using var deliverer = account.Deliverer(VirtualTime());

        var result = await deliverer.TriggerAsync("booking.completed", []);
        Assert.Equal(WebhookOutcomeKind.RetryScheduled, result.Webhooks.Single().Kind);
        await deliverer.RunAsync(result.EventId).WaitAsync(TimeSpan.FromSeconds(60));

        var log = deliverer.Store.Log(result.EventId);
        Assert.Equal(Enumerable.Range(1, expectedAttempt), log.Select(r => r.Attempt!.Value));
        Assert.Equal(RetrySchedule.Offsets.Take(expectedAttempt), log.Select(r => r.ScheduledOffset!.Value));
        Assert.Equal("accepted", log[^1].Outcome);
        // The attempts really happened that far apart on the (virtual) schedule clock.
        var apart = log[^1].SentAt - log[0].SentAt;
        Assert.InRange(apart, RetrySchedule.Offsets[expectedAttempt - 1], RetrySchedule.Offsets[expectedAttempt - 1] + TimeSpan.FromSeconds(2));
        Assert.Equal(expectedAttempt, receiver.Count);
        Assert.Single(receiver.Requests.Select(r => r.EventId).Distinct());
        Assert.All(receiver.Requests, r => Assert.True(new SignatureVerifier(webhook.Secret).Verify(r.Signature, r.Body).IsValid));
        Assert.Equal(DeliveryStatus.Delivered, deliverer.Store.Deliveries(result.EventId).Single().Status);
        Assert.Empty(deliverer.Store.Disabled());
    }

    [Fact]
    public async Task A_receiver_down_for_the_whole_window_disables_its_webhook_drops_the_rest_and_gets_nothing_more()
    {
        await using var down = await StandInReceiver.StartAsync(_ => 503);
        await using var up = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        var failing = account.Add("failing", down.UrlFor("/bookings"), "booking");
        var healthy = account.Add("healthy", up.UrlFor("/bookings"), "booking");
        using var deliverer = account.Deliverer(VirtualTime());

        var first = await deliverer.TriggerAsync("booking.scheduled", []);
        var second = await deliverer.TriggerAsync("booking.canceled", []);
        // Only the first event's retries run: the second stays pending until the webhook is disabled.
        await deliverer.RunAsync(first.EventId).WaitAsync(TimeSpan.FromSeconds(120));

        var attempts = deliverer.Store.Log(first.EventId, failing.Id);
        Assert.Equal(RetrySchedule.AttemptCount, attempts.Count);
        Assert.Equal(RetrySchedule.Offsets[^1], attempts[^1].ScheduledOffset);
        Assert.True(deliverer.Store.Disabled().ContainsKey(failing.Id));
        Assert.False(deliverer.Store.Disabled().ContainsKey(healthy.Id));
        Assert.Equal(DeliveryStatus.Failed, deliverer.Store.Deliveries(first.EventId, failing.Id).Single().Status);
        var dropped = deliverer.Store.Deliveries(second.EventId, failing.Id).Single();
        Assert.Equal(DeliveryStatus.Dropped, dropped.Status);
        Assert.Equal("dropped", deliverer.Store.Log(second.EventId, failing.Id)[^1].Outcome);
        Assert.Equal(0, deliverer.Store.PendingCount());

        var third = await deliverer.TriggerAsync("booking.no_show", []);
        Assert.Equal(WebhookOutcomeKind.SkippedDisabled, third.Webhooks.Single(w => w.WebhookId == failing.Id).Kind);
        Assert.Equal(WebhookOutcomeKind.Delivered, third.Webhooks.Single(w => w.WebhookId == healthy.Id).Kind);
        Assert.Equal(RetrySchedule.AttemptCount + 1, down.Count); // 15 for the first event, attempt 1 of the second, nothing after
        // The disabled state is local: the account's JSON (the API's view) does not carry it.
        Assert.DoesNotContain("disabled", await File.ReadAllTextAsync(Path.Combine(account.Folder, "account.json")), StringComparison.OrdinalIgnoreCase);

        // Re-creating the webhook recovers, as on OnceHub: a new id and a new secret.
        Assert.True(account.Webhooks.Delete(failing.Id).IsSuccess);
        var recreated = account.Add("failing", down.UrlFor("/bookings"), "booking");
        var fourth = await deliverer.TriggerAsync("booking.no_show", []);
        Assert.Equal(WebhookOutcomeKind.RetryScheduled, fourth.Webhooks.Single(w => w.WebhookId == recreated.Id).Kind);
        Assert.NotEqual(failing.Secret, recreated.Secret);
    }

    [Fact]
    public async Task Enable_is_a_local_way_back_for_a_disabled_webhook()
    {
        await using var down = await StandInReceiver.StartAsync(n => n <= RetrySchedule.AttemptCount ? 503 : 200);
        using var account = new TempAccount();
        var webhook = account.Add("failing", down.UrlFor("/x"), "conversation");
        using var deliverer = account.Deliverer(VirtualTime());
        var first = await deliverer.TriggerAsync("conversation.closed", []);
        await deliverer.RunAsync(first.EventId).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(deliverer.Store.Disabled().ContainsKey(webhook.Id));

        Assert.True(deliverer.Store.Enable(webhook.Id));
        Assert.False(deliverer.Store.Enable(webhook.Id));
        var next = await deliverer.TriggerAsync("conversation.closed", []);
        Assert.Equal(WebhookOutcomeKind.Delivered, next.Webhooks.Single().Kind);
    }

    [Fact]
    public async Task After_a_long_stop_an_overdue_delivery_is_sent_once_and_its_window_still_counts_from_attempt_1()
    {
        await using var receiver = await StandInReceiver.StartAsync(_ => 503);
        using var account = new TempAccount();
        account.Add("bookings", receiver.UrlFor("/b"), "booking");
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new LocalDeliveryOptions { Time = DeliveryTime.Real(clock), AttemptTimeout = TimeSpan.FromSeconds(5) };
        string eventId;
        using (var before = account.Deliverer(options))
        {
            eventId = (await before.TriggerAsync("booking.rescheduled", [])).EventId;
        }

        // The deliverer was down for 2 h: attempts 2, 3 and 4 (35 s, 215 s, 4535 s) were all missed.
        clock.Advance(TimeSpan.FromHours(2));
        using var after = account.Deliverer(options);
        using var stop = new CancellationTokenSource();
        var run = after.RunAsync(eventId, stop.Token);
        await WaitUntil(() => receiver.Count == 2);
        await Task.Delay(300); // a second attempt now would show up here
        Assert.Equal(2, receiver.Count);
        var log = after.Store.Log(eventId);
        Assert.Equal([1, 4], log.Select(r => r.Attempt!.Value));
        var pending = after.Store.Deliveries(eventId).Single();
        Assert.Equal(5, pending.NextAttempt);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero) + RetrySchedule.Offsets[4], pending.NextDue);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Resend_delivers_the_same_event_id_and_body_again_signed_afresh()
    {
        await using var receiver = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        var webhook = account.Add("bookings", receiver.UrlFor("/b"), "booking");
        using var deliverer = account.Deliverer(VirtualTime());
        var original = await deliverer.TriggerAsync("booking.scheduled", [new("data.subject", "Resent")]);

        var again = await deliverer.ResendAsync(original.EventId, null);

        Assert.Equal(original.EventId, again.EventId);
        Assert.Equal(WebhookOutcomeKind.Delivered, again.Webhooks.Single().Kind);
        var requests = receiver.Requests.ToList();
        Assert.Equal(2, requests.Count);
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.All(requests, r => Assert.True(new SignatureVerifier(webhook.Secret).Verify(r.Signature, r.Body).IsValid));
        Assert.Equal(2, deliverer.Store.Deliveries(original.EventId).Count);
        Assert.Throws<LocalDeliveryException>(() => deliverer.ResendAsync("EVNT-NOPE", null).GetAwaiter().GetResult());
        Assert.Throws<LocalDeliveryException>(() => deliverer.ResendAsync(original.EventId, "WHK-NOPE").GetAwaiter().GetResult());
    }

    [Fact]
    public async Task A_trigger_canceled_while_attempt_1_is_in_flight_leaves_that_attempt_due_for_the_next_deliverer()
    {
        var held = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await StandInReceiver.StartAsync(n => n == 1 ? held.Task : Task.FromResult(200));
        using var account = new TempAccount();
        var webhook = account.Add("bookings", receiver.UrlFor("/b"), "booking");
        string eventId;
        try
        {
            using var deliverer = account.Deliverer(VirtualTime());
            using var stop = new CancellationTokenSource();
            var trigger = deliverer.TriggerAsync("booking.scheduled", [], stop.Token);
            await WaitUntil(() => receiver.Arrived.Count == 1, 30);
            await stop.CancelAsync();
            var result = await trigger.WaitAsync(TimeSpan.FromSeconds(30));
            eventId = result.EventId;
            Assert.Equal(WebhookOutcomeKind.Interrupted, result.Webhooks.Single().Kind);
        }
        finally
        {
            held.TrySetResult(503);
        }

        using var store = new DeliveryStore(account.Folder);
        var pending = store.Deliveries(eventId).Single();
        Assert.Equal((webhook.Id, DeliveryStatus.Pending, 0, 1), (pending.WebhookId, pending.Status, pending.Attempts, pending.NextAttempt));
        Assert.NotEqual(0, pending.Id);
        Assert.Empty(store.Log(eventId));

        using (var next = new LocalDeliverer(account.Webhooks, store, VirtualTime()))
        {
            await next.RunAsync(eventId).WaitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.Equal((1, "accepted"), (store.Log(eventId).Single().Attempt, store.Log(eventId).Single().Outcome));
        Assert.Equal(DeliveryStatus.Delivered, store.Deliveries(eventId).Single().Status);
    }

    [Fact]
    public async Task A_webhook_deleted_while_its_delivery_waits_ends_that_delivery_as_dropped()
    {
        await using var receiver = await StandInReceiver.StartAsync(_ => 503);
        using var account = new TempAccount();
        var webhook = account.Add("bookings", receiver.UrlFor("/b"), "booking");
        using var deliverer = account.Deliverer(VirtualTime());
        var result = await deliverer.TriggerAsync("booking.scheduled", []);
        Assert.True(account.Webhooks.Delete(webhook.Id).IsSuccess);

        await deliverer.RunAsync(result.EventId).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, receiver.Count);
        var delivery = deliverer.Store.Deliveries(result.EventId).Single();
        Assert.Equal(DeliveryStatus.Dropped, delivery.Status);
        Assert.Contains("no longer in the account", delivery.EndReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_log_keeps_the_first_bytes_of_what_the_receiver_answered()
    {
        await using var busy = await StandInReceiver.StartAsync(_ => 503, "down for maintenance\nback at 10:00");
        await using var quiet = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        var toBusy = account.Add("busy", busy.UrlFor("/hooks"), "booking");
        var toQuiet = account.Add("quiet", quiet.UrlFor("/hooks"), "booking");
        using var deliverer = account.Deliverer(VirtualTime());

        var result = await deliverer.TriggerAsync("booking.scheduled", []);

        var log = deliverer.Store.Log(result.EventId).ToDictionary(r => r.WebhookId);
        Assert.Equal(503, log[toBusy.Id].HttpStatus);
        // one line, the line break escaped
        Assert.Equal("down for maintenance\\nback at 10:00", log[toBusy.Id].Answer);
        Assert.Null(log[toQuiet.Id].Answer);
    }

    [Fact]
    public async Task An_accepted_attempt_1_is_logged_on_its_delivery_row_and_the_log_reads_it_among_the_others()
    {
        await using var thanks = await StandInReceiver.StartAsync(_ => 200, "thanks");
        await using var flaky = await StandInReceiver.StartAsync(n => n == 1 ? 503 : 200);
        using var account = new TempAccount();
        var toThanks = account.Add("thanks", thanks.UrlFor("/hooks"), "booking");
        var toFlaky = account.Add("flaky", flaky.UrlFor("/hooks"), "booking");
        using var deliverer = account.Deliverer(VirtualTime());

        var result = await deliverer.TriggerAsync("booking.scheduled", []);
        await deliverer.RunAsync(result.EventId).WaitAsync(TimeSpan.FromSeconds(60));

        var log = deliverer.Store.Log(result.EventId);
        var ids = deliverer.Store.Deliveries(result.EventId).ToDictionary(d => d.WebhookId, d => d.Id);
        // Oldest first, by start then delivery: both attempts 1 (in the order their rows were written, which is the
        // order of the answers), then the flaky receiver's attempt 2.
        Assert.Equal(log.OrderBy(r => r.SentAt).ThenBy(r => r.DeliveryId).ThenBy(r => r.Attempt), log);
        Assert.Equal([(toFlaky.Id, 1), (toThanks.Id, 1)], log.Take(2).Select(r => (r.WebhookId, r.Attempt!.Value)).OrderBy(r => r.WebhookId == toThanks.Id));
        Assert.Equal((toFlaky.Id, 2), (log[2].WebhookId, log[2].Attempt!.Value));
        var accepted = log.Single(r => r.WebhookId == toThanks.Id);
        Assert.Equal((ids[toThanks.Id], "booking.scheduled", "accepted", 200, "thanks", TimeSpan.Zero),
            (accepted.DeliveryId, accepted.EventType, accepted.Outcome, accepted.HttpStatus!.Value, accepted.Answer, accepted.ScheduledOffset!.Value));
        Assert.NotNull(accepted.Latency);
        Assert.Null(accepted.Error);
        var refused = log.First(r => r.WebhookId == toFlaky.Id);
        Assert.Equal(("refused", 503, ids[toFlaky.Id], 1), (refused.Outcome, refused.HttpStatus!.Value, refused.DeliveryId, refused.Attempt!.Value));
        Assert.Equal(("accepted", RetrySchedule.Offsets[1]), (log[2].Outcome, log[2].ScheduledOffset!.Value));
        // The filters reach both kinds of row.
        Assert.Equal([accepted], deliverer.Store.Log(webhookId: toThanks.Id));
        Assert.Equal([1, 2], deliverer.Store.Log(result.EventId, toFlaky.Id).Select(r => r.Attempt!.Value));
        Assert.Empty(deliverer.Store.Log("EVNT-NOSUCHEVENT"));

        // One row for the accepted delivery, none of its own in the attempts table.
        using var check = OpenStoreFile(account);
        using var query = check.CreateCommand();
        query.CommandText = "SELECT webhook_id FROM attempts ORDER BY id";
        using var reader = query.ExecuteReader();
        var separate = new List<string>();
        while (reader.Read())
        {
            separate.Add(reader.GetString(0));
        }
        Assert.Equal([toFlaky.Id, toFlaky.Id], separate);
    }

    [Fact]
    public async Task A_wide_fan_out_logs_every_attempt_and_moves_every_delivery_on()
    {
        // Every third webhook refuses: the records are written in chunks while the other attempts are in flight.
        await using var receiver = await StandInReceiver.StartAsync(_ => 200);
        await using var refusing = await StandInReceiver.StartAsync(_ => 503);
        using var account = new TempAccount();
        var webhooks = Enumerable.Range(0, 45)
            .Select(i => account.Add($"hook-{i}", (i % 3 == 0 ? refusing : receiver).UrlFor($"/hook/{i}"), "booking"))
            .ToList();
        using var deliverer = account.Deliverer(VirtualTime());

        var result = await deliverer.TriggerAsync("booking.scheduled", []);

        Assert.Equal(webhooks.Select(w => w.Id), result.Webhooks.Select(w => w.WebhookId));
        var log = deliverer.Store.Log(result.EventId);
        Assert.Equal(45, log.Count);
        Assert.Equal(webhooks.Select(w => w.Id).Order(), log.Select(r => r.WebhookId).Order());
        Assert.All(log, r => Assert.Equal(1, r.Attempt));
        var states = deliverer.Store.Deliveries(result.EventId).ToDictionary(d => d.WebhookId);
        for (var i = 0; i < 45; i++)
        {
            var (kind, status) = i % 3 == 0
                ? (WebhookOutcomeKind.RetryScheduled, DeliveryStatus.Pending)
                : (WebhookOutcomeKind.Delivered, DeliveryStatus.Delivered);
            Assert.Equal(kind, result.Webhooks[i].Kind);
            Assert.Equal(status, states[webhooks[i].Id].Status);
            Assert.Equal(1, states[webhooks[i].Id].Attempts);
        }
        Assert.Equal(15, deliverer.Store.PendingCount(result.EventId));
    }

    [Fact]
    public async Task A_fan_out_its_sender_never_recorded_is_sent_again_to_the_webhooks_it_missed_once_its_lease_ends()
    {
        await using var receiver = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        var webhooks = new[] { "a", "b", "c" }.Select(name => account.Add(name, receiver.UrlFor("/" + name), "booking")).ToList();
        var (eventId, body) = EventFactory.Create("booking.scheduled", [], DateTimeOffset.UtcNow);
        var start = DateTimeOffset.UtcNow;
        using var store = new DeliveryStore(account.Folder);
        // A sender that opened its fan-out, recorded webhook a's attempt 1, and died before the rest.
        var claimed = await store.OpenFanOutAsync(eventId, "booking.scheduled", body, start, [.. webhooks.Select(w => w.Id)], start,
            "a-killed-process", start + TimeSpan.FromSeconds(15));
        await store.RecordAttemptsAsync([new AttemptRecord(claimed[0], 1, start, new AttemptResult(AttemptOutcome.Accepted, 200,
            TimeSpan.FromMilliseconds(3)), AttemptVerdict.Delivered, start)]);
        Assert.Equal(2, store.PendingCount(eventId));
        Assert.Empty(store.ClaimDue(start, start + TimeSpan.FromSeconds(14), start + TimeSpan.FromSeconds(30), 10, eventId, "another"));

        // Past the lease, a deliverer sends attempt 1 to b and c, once each, and a not again.
        var later = new FakeTimeProvider(start + TimeSpan.FromSeconds(16));
        using (var deliverer = new LocalDeliverer(account.Webhooks, store, new LocalDeliveryOptions { WallClock = later }))
        {
            await deliverer.RunAsync(eventId).WaitAsync(TimeSpan.FromSeconds(60));
        }

        Assert.Equal(["/b", "/c"], receiver.Requests.Select(r => r.Path).Order());
        Assert.All(receiver.Requests, r => Assert.Equal(eventId, r.EventId));
        var states = store.Deliveries(eventId);
        Assert.Equal(webhooks.Select(w => w.Id).Order(), states.Select(d => d.WebhookId).Order());
        Assert.All(states, d => Assert.Equal((DeliveryStatus.Delivered, 1), (d.Status, d.Attempts)));
        Assert.Equal([1, 1, 1], store.Log(eventId).Select(r => r.Attempt));
        Assert.Equal(0, store.PendingCount());
    }

    [Fact]
    public async Task A_fan_out_that_outlasts_its_lease_renews_it_and_no_other_deliverer_sends_its_attempts_again()
    {
        // Each answer takes 600 ms and the attempts go one at a time, so 12 webhooks take over 7 s: past the
        // fan-out's 6 s lease (1 s attempt timeout + 5 s), which its sender renews every 3 s. (An answer late
        // past the timeout only makes that attempt a failure, due again 35 s later.)
        await using var receiver = await StandInReceiver.StartAsync(async _ =>
        {
            await Task.Delay(600);
            return 200;
        });
        using var account = new TempAccount();
        for (var i = 0; i < 12; i++)
        {
            account.Add($"hook-{i}", receiver.UrlFor($"/{i}"), "booking");
        }
        var options = new LocalDeliveryOptions { AttemptTimeout = TimeSpan.FromSeconds(1), MaxConcurrentAttempts = 1 };
        using var sender = account.Deliverer(options);
        // Another process delivering for the same account, looking for abandoned fan-outs five times a second.
        using var otherStore = new DeliveryStore(account.Folder);
        using var other = new LocalDeliverer(account.Webhooks, otherStore, options with { PollInterval = TimeSpan.FromMilliseconds(200) });
        using var stop = new CancellationTokenSource();
        var watching = other.RunAsync(null, stop.Token);

        var result = await sender.TriggerAsync("booking.scheduled", []);
        await Task.Delay(500);
        await stop.CancelAsync();
        await watching;

        Assert.Equal(12, result.Webhooks.Count);
        Assert.Equal(12, receiver.Count);
        Assert.Equal(12, receiver.Arrived.Select(r => r.Path).Distinct().Count());
        Assert.All(otherStore.Log(result.EventId), row => Assert.Equal(1, row.Attempt));
        Assert.Equal(12, otherStore.Log(result.EventId).Count);
    }

    [Fact]
    public async Task A_store_of_the_first_schema_is_upgraded_in_place_and_keeps_its_deliveries()
    {
        await using var receiver = await StandInReceiver.StartAsync(_ => 503);
        using var account = new TempAccount();
        account.Add("bookings", receiver.UrlFor("/bookings"), "booking");
        string eventId;
        using (var deliverer = account.Deliverer(VirtualTime()))
        {
            eventId = (await deliverer.TriggerAsync("booking.scheduled", [])).EventId;
        }
        // Back to schema 1 as the first version wrote it: an index of every delivery by webhook and status, no
        // fan-outs.
        using (var old = OpenStoreFile(account))
        {
            using var downgrade = old.CreateCommand();
            downgrade.CommandText = """
                DROP INDEX deliveries_webhook_pending;
                CREATE INDEX deliveries_webhook ON deliveries(webhook_id, status);
                DROP TABLE fanouts;
                ALTER TABLE deliveries DROP COLUMN fanout_id;
                ALTER TABLE deliveries DROP COLUMN first_sent_at;
                ALTER TABLE deliveries DROP COLUMN first_status;
                ALTER TABLE deliveries DROP COLUMN first_latency_ms;
                ALTER TABLE deliveries DROP COLUMN first_answer;
                PRAGMA user_version = 1;
                """;
            downgrade.ExecuteNonQuery();
        }

        using (var reopened = new DeliveryStore(account.Folder))
        {
            Assert.Equal(DeliveryStatus.Pending, reopened.Deliveries(eventId).Single().Status);
            Assert.Single(reopened.Log(eventId));
        }
        using var check = OpenStoreFile(account);
        using var query = check.CreateCommand();
        query.CommandText = "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'deliveries_webhook%' ORDER BY name)";
        Assert.Equal("deliveries_webhook_pending", query.ExecuteScalar());
        query.CommandText = "SELECT group_concat(name) FROM (SELECT name FROM pragma_table_info('deliveries') WHERE name = 'fanout_id' OR name LIKE 'first\\_%' ESCAPE '\\' ORDER BY name)";
        Assert.Equal("fanout_id,first_answer,first_at,first_latency_ms,first_sent_at,first_status", query.ExecuteScalar());
        query.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'fanouts'";
        Assert.Equal(1L, query.ExecuteScalar());
        query.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'clock'";
        Assert.Equal(1L, query.ExecuteScalar());
        query.CommandText = "PRAGMA user_version";
        Assert.Equal(5L, query.ExecuteScalar());
    }

    [Fact]
    public async Task Under_continuous_fan_outs_the_write_ahead_log_is_restarted_instead_of_growing()
    {
        await using var receiver = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        for (var i = 0; i < 10; i++)
        {
            account.Add($"hook-{i}", receiver.UrlFor($"/hook/{i}"), "booking");
        }
        using var deliverer = account.Deliverer(VirtualTime());

        // 4 producers triggering without pause: the store's writer always has a transaction coming.
        var (before, after, triggers) = await WriteAheadLog.RestartsUnderLoadAsync(
            Path.Combine(account.Folder, DeliveryStore.FileName), workers: 4, () => deliverer.TriggerAsync("booking.scheduled", []));

        Assert.True(after > before, $"no restart of the WAL under continuous fan-outs ({triggers} triggers; count {before} -> {after})");
    }

    internal static async Task WaitUntil(Func<bool> condition, int seconds = 30) =>
        Assert.True(await Eventually.HoldsWithinAsync(condition, TimeSpan.FromSeconds(seconds)), "condition not met in time");
}
