using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Scenarios;
using OnceHub.Emulator;
using OnceHub.Emulator.LocalDelivery;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>Lifecycle scenarios: the fixtures, and <c>trigger --scenario</c> through the fan-out.</summary>
public partial class ScenarioTests
{
    private static Task<(int Exit, string Out, string Err)> Run(params string[] args) => Cli.Run(args);

    [Fact]
    public void The_catalog_holds_every_lifecycle_OnceHub_describes()
    {
        Assert.Equal(
            ["after-the-meeting", "automatic-booking", "booking-with-approval", "canceled", "conversation-abandoned", "conversation-closed",
             "guest-reschedules-other-user", "guest-reschedules-same-user", "reassigned", "rescheduled-then-canceled", "user-requests-reschedule"],
            ScenarioCatalog.All.Select(s => s.Name));
        Assert.Equal(["booking.scheduled", "booking.canceled_reschedule_requested", "booking.rescheduled"],
            Find("user-requests-reschedule").Events);
        // Booking with approval: the request sends nothing, the approval sends booking.scheduled.
        var approval = Find("booking-with-approval");
        Assert.Equal(["(requested, no event)", "booking.scheduled"], approval.Steps.Select(s => s.Label));
    }

    [Fact]
    public void Every_step_of_every_fixture_is_a_payload_the_schemas_accept()
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var scenario in ScenarioCatalog.All)
        {
            foreach (var request in ScenarioTrigger.Requests(scenario, [], now))
            {
                var (_, body) = EventFactory.Create(request.Event.EventType, request.Overrides, now);
                var errors = PayloadValidator.Default.Validate(body);
                Assert.True(errors.Count == 0, $"{scenario.Name} step {request.Event.Step}: {string.Join("; ", errors)}");
                var sent = JsonNode.Parse(body)!;
                Assert.Equal(request.Event.EventType, sent["type"]!.GetValue<string>());
                Assert.Equal(request.Event.TimeText, sent["creation_time"]!.GetValue<string>());
            }
        }
    }

    [Fact]
    public async Task Every_scenario_reaches_the_reference_receiver_with_one_object_changing_step_by_step()
    {
        var port = LoopbackPort.Free();
        using var account = new TempAccount();
        account.Add("bookings", $"http://127.0.0.1:{port}/webhooks/oncehub/bookings", "booking");
        account.Add("conversations", $"http://127.0.0.1:{port}/webhooks/oncehub/conversations", "conversation");
        var served = AccountEndpoints.Resolve("file:" + account.Folder, 0);
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Endpoints = served.Endpoints, Port = served.Port });

        var processed = 0;
        foreach (var scenario in ScenarioCatalog.All)
        {
            var (exit, stdout, stderr) = await Run("trigger", "--scenario", scenario.Name, "--account", "file:" + account.Folder, "--virtual-time");
            Assert.True(exit == 0, $"{scenario.Name}: {stderr}");
            var eventIds = EventIdsIn(stdout);
            Assert.Equal(scenario.Events.Count(), eventIds.Count);
            processed += eventIds.Count;
            Assert.Equal(processed, receiver.ProcessedCount);

            using var store = new DeliveryStore(account.Folder);
            var sent = eventIds.Select(id => JsonNode.Parse(store.FindEvent(id)!.Value.Body)!).ToList();
            Assert.Equal(scenario.Events, sent.Select(e => e["type"]!.GetValue<string>()));
            AssertConsistent(scenario.Name, sent);
        }
        Assert.Equal(0, receiver.Count(ReceiveOutcome.Refused));
    }

    [Fact]
    public async Task A_set_applies_to_every_step_and_a_bad_one_sends_nothing()
    {
        await using var receiver = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        account.Add("bookings", receiver.UrlFor("/b"), "booking");

        var (exit, stdout, stderr) = await Run("trigger", "--scenario", "user-requests-reschedule", "--account", "file:" + account.Folder,
            "--virtual-time", "--set", "data.subject=Renewal talk");

        Assert.True(exit == 0, stderr);
        Assert.Contains("scenario user-requests-reschedule: 3 event(s) on BKNG-", stdout, StringComparison.Ordinal);
        Assert.Contains("step 2/3  EVNT-", stdout, StringComparison.Ordinal);
        Assert.Equal(3, receiver.Count);
        Assert.All(receiver.Requests, r => Assert.Equal("Renewal talk", JsonNode.Parse(r.Body)!["data"]!["subject"]!.GetValue<string>()));

        var bad = await Run("trigger", "--scenario", "canceled", "--account", "file:" + account.Folder, "--virtual-time", "--set", "data.nope=1");
        Assert.Equal(ExitCodes.BadInput, bad.Exit);
        Assert.Contains("no field 'data.nope'", bad.Err, StringComparison.Ordinal);
        Assert.Equal(3, receiver.Count);
    }

    [Fact]
    public async Task A_scenario_through_the_emulator_arrives_in_order_on_one_object()
    {
        const string key = "scenario-test-key";
        await using var receiver = await StandInReceiver.StartAsync(_ => 200);
        using var account = new TempAccount();
        account.Add("bookings", receiver.UrlFor("/b"), "booking");
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions
        {
            ApiKey = key,
            DataDirectory = account.Folder,
            AllowInsecureUrls = true,
            LocalDelivery = new EmulatorDeliverySettings { Time = DeliveryTime.Virtual() },
        });

        var (exit, _, stderr) = await Run("trigger", "--scenario", "after-the-meeting", "--api", emulator.BaseUrl.ToString(), "--api-key", key);

        Assert.True(exit == 0, stderr);
        var bodies = receiver.Requests.Select(r => JsonNode.Parse(r.Body)!).ToList();
        Assert.Equal(["booking.scheduled", "booking.completed", "booking.no_show"], bodies.Select(b => b["type"]!.GetValue<string>()));
        AssertConsistent("after-the-meeting", bodies);
    }

    [Fact]
    public async Task The_list_prints_one_scenario_per_line_with_its_steps()
    {
        var (exit, stdout, _) = await Run("trigger", "--list-scenarios");

        Assert.Equal(0, exit);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(ScenarioCatalog.All.Count, lines.Length);
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^after-the-meeting +booking\.scheduled -> booking\.completed -> booking\.no_show$"));
        Assert.Contains(lines, l => Regex.IsMatch(l, @"^booking-with-approval +\(requested, no event\) -> booking\.scheduled$"));
    }

    [Theory]
    [InlineData(new[] { "--scenario", "user-request-reschedule" }, "error: 'user-request-reschedule' is not a scenario; did you mean 'user-requests-reschedule'? (see trigger --list-scenarios)")]
    [InlineData(new[] { "--scenario", "zzz" }, "error: 'zzz' is not a scenario (see trigger --list-scenarios)")]
    [InlineData(new[] { "booking.canceled", "--scenario", "canceled" }, "error: give either an EVENT or --scenario NAME (see --help)")]
    [InlineData(new string[0], "error: give either an EVENT or --scenario NAME (see --help)")]
    [InlineData(new[] { "--list-scenarios", "--scenario", "canceled" }, "error: --list-scenarios takes no EVENT and no --scenario (see --help)")]
    public async Task An_unknown_scenario_or_a_clash_is_bad_input_naming_close_matches(string[] args, string expected)
    {
        var (exit, _, stderr) = await Run(["trigger", .. args]);

        Assert.Equal((ExitCodes.BadInput, expected), (exit, stderr.TrimEnd()));
    }

    [Theory]
    [InlineData("""{"description":"x","steps":[]}""", "'steps' must be a non-empty list")]
    [InlineData("""{"description":"x","steps":[{"event":"booking.scheduled","data":{"status":"canceled"}}]}""", "'data.status' of a step with an event")]
    [InlineData("""{"description":"x","steps":[{"event":"booking.scheduled"},{"event":"booking.canceled"}]}""", "step 2: 'after' must be a positive duration")]
    [InlineData("""{"description":"x","steps":[{"event":"booking.scheduled"},{"event":"booking.canceled","after":"PT0.5S"}]}""", "step 2: 'after' must be a positive duration of whole seconds")]
    [InlineData("""{"description":"x","steps":[{"event":"booking.scheduled","data":{"color":"red"}}]}""", "step 1: no field 'color'")]
    [InlineData("""{"description":"x","steps":[{"event":"booking.scheduled","data":{"subject":"${nope}"}}]}""", "'${nope}' refers to no field")]
    [InlineData("""{"description":"x","steps":[{"event":"booking.scheduled","data":{"subject":"${subject}+P1D"}}]}""", "which is not a date-time")]
    [InlineData("""{"description":"x","steps":[{"event":"booking.scheduled","data":{"id":"BKNG-1"}}]}""", "'data.id' is set by every step itself")]
    [InlineData("""{"description":"x","steps":[{"event":"booking.scheduled"},{"after":"PT1H","event":"conversation.closed"}]}""", "not of the booking family")]
    public void A_broken_fixture_is_refused_naming_the_step_and_rule(string json, string expected)
    {
        var ex = Assert.Throws<ScenarioException>(() => LifecycleScenario.Parse("broken", Encoding.UTF8.GetBytes(json)));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("scenario broken", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>The payload rules of a lifecycle: one object, the event's documented status, time rising, and each change where it belongs.</summary>
    private static void AssertConsistent(string scenario, IReadOnlyList<JsonNode> events)
    {
        JsonNode? previous = null;
        foreach (var e in events)
        {
            var type = e["type"]!.GetValue<string>();
            var data = e["data"]!;
            var where = $"{scenario}, {type}";
            var documented = JsonNode.Parse(ContractResources.ReadSample(type))!["data"]!["status"]!.GetValue<string>();
            Assert.True(documented == data["status"]!.GetValue<string>(), $"{where}: status {data["status"]}, documented {documented}");
            if (previous is not null)
            {
                Assert.Equal(previous["id"]!.GetValue<string>(), data["id"]!.GetValue<string>());
                Assert.True(Time(data, "last_updated_time") > Time(previous, "last_updated_time"), $"{where}: last_updated_time does not rise");
                if (documented == "rescheduled")
                {
                    Assert.True(Time(data, "starting_time") != Time(previous, "starting_time"), $"{where}: the start did not move");
                }
                // A reassignment, and a reschedule with another user, change hands.
                if (type is "booking.reassigned" or "booking.canceled_then_rescheduled")
                {
                    Assert.NotEqual(previous["owner"]!.GetValue<string>(), data["owner"]!.GetValue<string>());
                }
            }
            if (type.Contains("cancel", StringComparison.Ordinal))
            {
                var info = data["cancel_reschedule_information"];
                Assert.True(info?["reason"]?.GetValue<string>() is { Length: > 0 }, $"{where}: no cancel_reschedule_information.reason");
                Assert.Contains(info!["actioned_by"]!.GetValue<string>(), new[] { "user", "customer" });
            }
            previous = data;
        }
    }

    private static DateTimeOffset Time(JsonNode data, string field) => DateTimeOffset.Parse(data[field]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);

    private static LifecycleScenario Find(string name) => Assert.IsType<LifecycleScenario>(ScenarioCatalog.TryFind(name, out var s) ? s : null);

    private static List<string> EventIdsIn(string output) => [.. EventIdLine().Matches(output).Select(m => m.Groups[1].Value)];

    [GeneratedRegex(@"^step \d+/\d+  (EVNT-[A-Z0-9]+) ", RegexOptions.Multiline)]
    private static partial Regex EventIdLine();
}
