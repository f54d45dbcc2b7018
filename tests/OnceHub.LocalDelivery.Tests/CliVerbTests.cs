using System.Text.Json;
using OnceHub.Contracts;
using OnceHub.Contracts.CommandLine;

namespace OnceHub.LocalDelivery.Tests;

public class CliVerbTests
{
    private static Task<(int Exit, string Out, string Err)> Run(params string[] args) => Cli.Run(args);

    [Fact]
    public async Task Trigger_follow_in_virtual_time_prints_a_line_per_webhook_and_waits_for_the_retries()
    {
        await using var flaky = await StandInReceiver.StartAsync(n => n <= 2 ? 500 : 204);
        await using var other = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        var b = account.Add("bookings", flaky.UrlFor("/bookings"), "booking");
        var c = account.Add("conversations", other.UrlFor("/conversations"), "conversation");

        var (exit, stdout, stderr) = await Run("trigger", "booking.canceled", "--account", "file:" + account.Folder,
            "--virtual-time", "--follow", "--set", "data.subject=From the CLI");

        Assert.True(exit == 0, stderr);
        Assert.Contains($"{b.Id}  bookings  attempt 1: 500; attempt 2 due at +35 s", stdout, StringComparison.Ordinal);
        Assert.Contains($"{b.Id}  delivered after 3 attempt(s)", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(c.Id, stdout, StringComparison.Ordinal);
        Assert.Equal(0, other.Count);
        Assert.Contains("From the CLI", System.Text.Encoding.UTF8.GetString(flaky.Requests.Last().Body), StringComparison.Ordinal);

        var (logExit, json, _) = await Run("deliveries", "--account", "file:" + account.Folder, "--json", "--webhook", b.Id);
        Assert.Equal(0, logExit);
        using var doc = JsonDocument.Parse(json);
        var attempts = doc.RootElement.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal([1, 2, 3], attempts.Select(a => a.GetProperty("attempt").GetInt32()));
        Assert.Equal([500, 500, 204], attempts.Select(a => a.GetProperty("http_status").GetInt32()));
        Assert.Equal(RetrySchedule.Offsets.Take(3).Select(o => o.TotalSeconds), attempts.Select(a => a.GetProperty("scheduled_offset_seconds").GetDouble()));
        Assert.Empty(doc.RootElement.GetProperty("pending").EnumerateArray());

        var (tableExit, table, _) = await Run("deliveries", "--account", "file:" + account.Folder);
        Assert.Equal(0, tableExit);
        Assert.Contains("+3 min 35 s", table, StringComparison.Ordinal);

        var eventId = attempts[0].GetProperty("event_id").GetString()!;
        var (resendExit, resent, _) = await Run("resend", eventId, "--account", "file:" + account.Folder);
        Assert.Equal(0, resendExit);
        Assert.Contains($"{eventId} booking.canceled resent -> 1 webhook(s)", resent, StringComparison.Ordinal);
        Assert.Equal(2, flaky.Requests.Count(r => r.EventId == eventId && r.Status == 204));
    }

    [Fact]
    public async Task A_webhook_whose_window_ends_shows_as_disabled_and_its_later_deliveries_as_dropped_rows_until_enabled_locally()
    {
        await using var down = await StandInReceiver.StartAsync(_ => 503);
        using var account = new TempAccount();
        var webhook = account.Add("failing", down.UrlFor("/x"), "booking.no_show");
        var folder = "file:" + account.Folder;

        var (exit, stdout, _) = await Run("trigger", "booking.no_show", "--account", folder, "--virtual-time", "--follow");
        Assert.Equal(1, exit);
        Assert.Contains($"{webhook.Id}  failed after {RetrySchedule.AttemptCount} attempt(s)", stdout, StringComparison.Ordinal);

        var (_, listed, _) = await Run("webhooks", "list", "--account", folder);
        Assert.Contains($"{webhook.Id}  failing", listed, StringComparison.Ordinal);
        Assert.Contains("DISABLED (local state)", listed, StringComparison.Ordinal);

        var (skippedExit, skipped, _) = await Run("trigger", "booking.no_show", "--account", folder);
        Assert.Equal(0, skippedExit);
        Assert.Contains("not sent: the webhook is disabled", skipped, StringComparison.Ordinal);
        Assert.Equal(RetrySchedule.AttemptCount, down.Count);

        // Nothing sent, and 'deliveries' says why.
        var (logExit, json, _) = await Run("deliveries", "--account", folder, "--json", "--webhook", webhook.Id);
        Assert.Equal(0, logExit);
        using var doc = JsonDocument.Parse(json);
        var last = Assert.Single(doc.RootElement.GetProperty("attempts").EnumerateArray(), a => a.GetProperty("status").GetString() == "dropped");
        Assert.Equal(("dropped: the webhook is disabled", JsonValueKind.Null), (last.GetProperty("error").GetString(), last.GetProperty("attempt").ValueKind));
        using (var store = new DeliveryStore(account.Folder))
        {
            var dropped = store.Deliveries(last.GetProperty("event_id").GetString()).Single();
            Assert.Equal((webhook.Id, DeliveryStatus.Dropped, 0), (dropped.WebhookId, dropped.Status, dropped.Attempts));
        }
        var (_, table, _) = await Run("deliveries", "--account", folder, "--webhook", webhook.Id);
        Assert.Contains("dropped: the webhook is disabled", table, StringComparison.Ordinal);

        var (enableExit, enabled, _) = await Run("webhooks", "enable", webhook.Id, "--account", folder);
        Assert.Equal(0, enableExit);
        Assert.Contains("local convenience", enabled, StringComparison.Ordinal);
        var (_, relisted, _) = await Run("webhooks", "list", "--account", folder);
        Assert.Contains("enabled", relisted, StringComparison.Ordinal);
        Assert.DoesNotContain("DISABLED", relisted, StringComparison.Ordinal);
        var (unknownExit, _, unknown) = await Run("webhooks", "enable", "WHK-NOPE", "--account", folder);
        Assert.Equal(1, unknownExit);
        Assert.Contains("WHK-NOPE", unknown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("data.nope=1", "no field 'data.nope'")]
    [InlineData("no-equals-sign", "expected PATH=VALUE")]
    public async Task A_bad_set_is_bad_input_naming_the_path(string set, string expected)
    {
        using var account = new TempAccount();
        account.Add("bookings", "http://127.0.0.1:9/unused", "booking");
        var (exit, _, stderr) = await Run("trigger", "booking.scheduled", "--account", "file:" + account.Folder, "--set", set);
        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--account", "/no/scheme", "--account must be file:PATH")]
    [InlineData("--time-scale", "0", "--time-scale must be a positive number")]
    [InlineData("--attempt-timeout", "-1", "--attempt-timeout must be")]
    [InlineData("--api", "ftp://x", "--api must be an http(s) URL")]
    public async Task Bad_options_are_bad_input(string option, string value, string expected)
    {
        var (exit, _, stderr) = await Run("trigger", "booking.scheduled", option, value, "--api-key", "k");
        Assert.Equal(2, exit);
        Assert.Contains(expected, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_folder_without_an_account_is_refused_and_left_alone()
    {
        var missing = Path.Combine(Path.GetTempPath(), "oncehub-missing-" + Guid.NewGuid().ToString("N"));
        foreach (var args in new[]
        {
            new[] { "trigger", "booking.scheduled", "--account", "file:" + missing },
            ["deliveries", "--account", "file:" + missing],
            ["webhooks", "list", "--account", "file:" + missing],
            ["resend", "EVNT-X", "--account", "file:" + missing],
        })
        {
            var (exit, _, stderr) = await Run(args);
            Assert.Equal(2, exit);
            Assert.Contains("no local OnceHub account", stderr, StringComparison.Ordinal);
        }
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task Unknown_events_options_and_clashing_clocks_are_bad_input()
    {
        Assert.Equal(2, (await Run("trigger", "booking")).Exit);
        Assert.Equal(2, (await Run("trigger", "booking.scheduled", "--frobnicate")).Exit);
        var (exit, _, stderr) = await Run("trigger", "booking.scheduled", "--time-scale", "10", "--virtual-time");
        Assert.Equal(2, exit);
        Assert.Contains("exclude each other", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_no_webhook_subscribes_to_is_a_failure_not_a_silent_success()
    {
        await using var receiver = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        account.Add("bookings", receiver.UrlFor("/b"), "booking");
        var (exit, _, stderr) = await Run("trigger", "conversation.abandoned", "--account", "file:" + account.Folder);
        Assert.Equal(1, exit);
        Assert.Contains("no webhook of the account is subscribed to conversation.abandoned", stderr, StringComparison.Ordinal);
        Assert.Equal(0, receiver.Count);
    }

    [Fact]
    public async Task A_malformed_id_is_bad_input_and_a_well_formed_one_that_is_missing_is_not_found()
    {
        using var account = new TempAccount();
        account.Add("bookings", "http://127.0.0.1:9/b", "booking");
        var folder = "file:" + account.Folder;

        var resendGarbage = await Run("resend", "garbage", "--account", folder);
        var resendMissing = await Run("resend", "EVNT-NOPE", "--account", folder);
        var enableGarbage = await Run("webhooks", "enable", "garbage", "--account", folder);
        var enableMissing = await Run("webhooks", "enable", "WHK-NOPE", "--account", folder);

        Assert.Equal((ExitCodes.BadInput, "error: EVENT_ID: 'garbage' is not an event id (EVNT- and 1 to 128 letters or digits)"), (resendGarbage.Exit, resendGarbage.Err.TrimEnd()));
        Assert.Equal(ExitCodes.Failed, resendMissing.Exit);
        Assert.StartsWith("error: No event 'EVNT-NOPE'", resendMissing.Err, StringComparison.Ordinal);
        Assert.Equal((ExitCodes.BadInput, "error: ID: 'garbage' is not a webhook id (WHK- and 1 to 64 letters or digits)"), (enableGarbage.Exit, enableGarbage.Err.TrimEnd()));
        Assert.Equal((ExitCodes.Failed, "error: no webhook 'WHK-NOPE' in the account"), (enableMissing.Exit, enableMissing.Err.TrimEnd()));
    }
}
