using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using OnceHub.Contracts.Cli;
using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Suite;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

public sealed class OutOfOrderTests : IDisposable
{
    private const string Secret = "out-of-order-secret";

    private readonly string _dir = Directory.CreateTempSubdirectory("oncehub-out-of-order-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The lifecycle's event types only: the smallest run that includes the check.</summary>
    private static readonly EventType[] LifecycleEvents = [.. OutOfOrderPlan.Default.Scenario.Events.Select(Type)];

    private static EventType Type(string name) => EventCatalog.Specific.Single(e => e.Name == name);

    private static Task<SuiteReport> RunAsync(Uri target) =>
        ContractSuite.RunAsync(new SuiteOptions { Target = target, Secret = Secret, Events = LifecycleEvents });

    private static CheckResult OutOfOrder(SuiteReport report) =>
        report.Checks.Single(c => c.Event == OutOfOrderCheck.Subject && c.Check == ContractChecks.OutOfOrder);

    /// <summary>
    /// A receiver that applies booking events in arrival order, as a naive CRM sync would: 401 for a bad signature;
    /// a booking is known once its booking.scheduled came; a later event for a booking it does not know gets
    /// <paramref name="status"/> and an error naming the booking.
    /// </summary>
    private static Task<TestReceiver> RefusingUnknownBookingsAsync(int status)
    {
        var verifier = new SignatureVerifier(Secret);
        var known = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        return TestReceiver.StartAsync(async (http, body) =>
        {
            if (!verifier.Verify(http.Request.Headers[WebhookSigner.HeaderName].ToString(), body).IsValid)
            {
                return 401;
            }
            var payload = JsonNode.Parse(body)!;
            var booking = (string)payload["data"]!["id"]!;
            if ((string)payload["type"]! == "booking.scheduled")
            {
                known[booking] = true;
                return 200;
            }
            if (known.ContainsKey(booking))
            {
                return 200;
            }
            http.Response.StatusCode = status;
            await http.Response.WriteAsync($"{{\"error\":\"unknown booking {booking}\"}}");
            return status;
        });
    }

    [Fact]
    public void Each_step_is_the_same_booking_moving_forward_and_valid_against_the_schemas()
    {
        var steps = OutOfOrderPlan.Default.Scenario.Play(DateTimeOffset.UtcNow);
        var booking = (string)steps[0].Data["id"]!;
        var payloads = steps.Select(s => (Step: s, Body: s.Payload())).ToList();

        Assert.StartsWith("BKNG-", booking, StringComparison.Ordinal);
        Assert.All(payloads, p => Assert.Empty(PayloadValidator.Default.Validate(p.Body)));
        var nodes = payloads.Select(p => (p.Step, Node: JsonNode.Parse(p.Body)!)).ToList();
        Assert.All(nodes, n =>
        {
            Assert.Equal(n.Step.EventType, (string?)n.Node["type"]);
            Assert.Equal(booking, (string?)n.Node["data"]!["id"]);
            Assert.Equal(Type(n.Step.EventType).DataStatus, (string?)n.Node["data"]!["status"]);
            Assert.Equal((string?)n.Node["creation_time"], (string?)n.Node["data"]!["last_updated_time"]);
            Assert.Contains(booking, (string?)n.Node["data"]!["cancel_reschedule_url"], StringComparison.Ordinal);
        });
        Assert.Equal(nodes.Count, nodes.Select(n => (string?)n.Node["id"]).Distinct().Count());
        var updated = nodes.Select(n => DateTimeOffset.Parse((string)n.Node["data"]!["last_updated_time"]!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.All(updated.Zip(updated.Skip(1)), pair => Assert.True(pair.Second > pair.First, $"{pair.Second} is not after {pair.First}"));

        JsonNode Data(string type) => nodes.Single(n => n.Step.EventType == type).Node["data"]!;
        Assert.NotEqual((string?)Data("booking.scheduled")["starting_time"], (string?)Data("booking.rescheduled")["starting_time"]);
        Assert.Equal((string?)Data("booking.rescheduled")["starting_time"], (string?)Data("booking.canceled")["starting_time"]);
        Assert.Null(Data("booking.scheduled")["cancel_reschedule_information"]);
        Assert.NotNull(Data("booking.canceled")["cancel_reschedule_information"]!["reason"]);
        // Everything else about the booking stays as it was.
        Assert.Equal(Data("booking.scheduled")["form_submission"]!.ToJsonString(), Data("booking.canceled")["form_submission"]!.ToJsonString());
    }

    [Fact]
    public void Each_order_delivers_a_step_after_a_later_one_and_together_they_cover_both_ways_retries_reorder()
    {
        var plan = OutOfOrderPlan.Default;
        var orders = plan.Orders;
        var steps = plan.Scenario.Events.ToList();

        // The last step leaves a status an earlier event must not undo.
        Assert.Equal("canceled", Type(steps[^1]).DataStatus);
        // A later step before an earlier one: the lifecycle's last step comes before its first.
        Assert.Contains(orders, o => o.Events.ToList().IndexOf(steps[^1]) < o.Events.ToList().IndexOf(steps[0]));
        // An earlier step again after a later one: a step delivered twice, the second time after a later step.
        Assert.Contains(orders, o =>
        {
            var played = plan.Play(o, DateTimeOffset.UtcNow);
            return played.Select((s, i) => (s, i)).Any(x =>
                played.Take(x.i).Any(before => before.Step == x.s.Step) && played.Take(x.i).Any(before => before.Time > x.s.Time));
        });
        // Each order plays the scenario afresh: a booking of its own.
        Assert.Equal(orders.Count, orders.Select(o => (string)plan.Play(o, DateTimeOffset.UtcNow)[0].Data["id"]!).Distinct().Count());
        Assert.Equal(orders.Sum(o => o.Events.Count), OutOfOrderCheck.Requests);
    }

    public static TheoryData<string, string> BrokenFixtures => new()
    {
        { """{"scenario":"conversation-closed","orders":[]}""", "scenario: 'conversation-closed' is not a booking scenario" },
        { """{"scenario":"rescheduled-then-cancelled","orders":[]}""", "scenario: 'rescheduled-then-cancelled' is not a scenario of samples/scenarios/" },
        { """{"scenario":"automatic-booking","orders":[]}""", "scenario: 'automatic-booking' sends 1 event(s): a lifecycle delivered out of order has at least two" },
        { """{"scenario":"rescheduled-then-canceled","orders":[{"name":"x","why":"x","steps":["booking.canceled","booking.nope"]}]}""",
            "orders[0].steps[1]: '\"booking.nope\"' must be a booking event type of the catalog" },
        { """{"scenario":"rescheduled-then-canceled","orders":[{"name":"in-order","why":"x","steps":["booking.scheduled","booking.canceled"]}]}""",
            "orders[0].steps: must deliver a step after a later one" },
        { """{"scenario":"rescheduled-then-canceled","orders":[{"name":"x","why":"x","steps":["booking.canceled","booking.completed"]}]}""",
            "orders[0].steps[1]: 'booking.completed' is not a step of scenario rescheduled-then-canceled" },
        { """{"scenario":"rescheduled-then-canceled","orders":[{"name":"x","why":"x","steps":["booking.canceled","booking.scheduled"]},{"name":"x","why":"y","steps":["booking.canceled","booking.scheduled"]}]}""",
            "orders[1].name: 'x' names another order already" },
    };

    [Theory]
    [MemberData(nameof(BrokenFixtures))]
    public void A_broken_out_of_order_fixture_is_refused_naming_the_field_and_the_rule(string fixture, string expected)
    {
        var error = Assert.Throws<InvalidDataException>(() => OutOfOrderPlan.Parse(Encoding.UTF8.GetBytes(fixture)));
        Assert.Contains("out-of-order fixture: " + expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reference_receiver_acknowledges_every_step_in_every_order()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret] });

        var report = await RunAsync(receiver.Url);

        var check = OutOfOrder(report);
        Assert.True(check.Passed, check.Detail);
        Assert.Equal("2/2", check.Summary);
        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Checks.Where(c => !c.Passed).Select(c => $"{c.Event} {c.Check}: {c.Detail}")));
        Assert.Contains("later-steps-first (booking.canceled 200, booking.rescheduled 200, booking.scheduled 200)", check.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(409)]
    [InlineData(422)]
    public async Task Receiver_refusing_an_event_for_a_booking_it_has_not_seen_fails_out_of_order_naming_the_step_and_status(int status)
    {
        await using var receiver = await RefusingUnknownBookingsAsync(status);

        var report = await RunAsync(receiver.Url);

        var check = OutOfOrder(report);
        Assert.Equal(CheckStatus.Failed, check.Status);
        // The order starting with the cancellation fails at once; the one starting with the booking passes.
        Assert.Equal("1/2", check.Summary);
        Assert.Contains("order later-steps-first (booking.canceled → booking.rescheduled → booking.scheduled): step 1 booking.canceled "
            + $"not acknowledged in 15 attempt(s), the last {status} in ", check.Detail, StringComparison.Ordinal);
        Assert.Contains("\"error\":\"unknown booking BKNG-", check.Detail, StringComparison.Ordinal);
        Assert.Contains("disables the webhook", check.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("earlier-step-again", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Receiver_refusing_an_event_older_than_one_it_has_seen_fails_both_orders_at_the_older_step()
    {
        var verifier = new SignatureVerifier(Secret);
        var newest = new ConcurrentDictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        await using var receiver = await TestReceiver.StartAsync((http, body) =>
        {
            if (!verifier.Verify(http.Request.Headers[WebhookSigner.HeaderName].ToString(), body).IsValid)
            {
                return Task.FromResult(401);
            }
            var data = JsonNode.Parse(body)!["data"]!;
            if ((string?)data["last_updated_time"] is not { } time)
            {
                return Task.FromResult(200);
            }
            var updated = DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture);
            var kept = newest.AddOrUpdate((string)data["id"]!, updated, (_, seen) => seen > updated ? seen : updated);
            return Task.FromResult(kept > updated ? 409 : 200);
        });

        var report = await RunAsync(receiver.Url);

        var check = OutOfOrder(report);
        Assert.Equal("0/2", check.Summary);
        Assert.Contains("order later-steps-first (booking.canceled → booking.rescheduled → booking.scheduled): step 2 booking.rescheduled not acknowledged in 15 attempt(s), the last 409",
            check.Detail, StringComparison.Ordinal);
        Assert.Contains("order earlier-step-again (booking.scheduled → booking.rescheduled → booking.canceled → booking.rescheduled): step 4 booking.rescheduled not acknowledged in 15 attempt(s), the last 409",
            check.Detail, StringComparison.Ordinal);
        // Every other check holds: only the order of events is what this receiver gets wrong.
        Assert.True(report.FailureCount == 1, string.Join(Environment.NewLine, report.Checks.Where(c => !c.Passed).Select(c => $"{c.Event} {c.Check}: {c.Detail}")));
    }

    [Fact]
    public async Task A_run_without_every_event_of_the_lifecycle_has_no_out_of_order_check()
    {
        await using var receiver = await TestReceiver.VerifyingAsync(Secret, _ => 200);
        var options = new SuiteOptions { Target = receiver.Url, Secret = Secret, Events = LifecycleEvents[..^1] };

        var report = await ContractSuite.RunAsync(options);

        Assert.False(options.RunsLifecycle);
        Assert.Empty(report.Lifecycle);
        Assert.Equal(options.CheckCount, report.CheckCount);
        Assert.Equal(options.Requests, receiver.Requests.Count);
        Assert.True(report.Passed);
    }

    [Fact]
    public async Task Verify_writes_the_failure_in_the_table_and_a_junit_case_for_the_lifecycle()
    {
        await using var receiver = await RefusingUnknownBookingsAsync(409);
        var junit = Path.Combine(_dir, "results.xml");
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await new CliApp(stdout, stderr, _ => null).RunAsync(
            ["verify", "--target", receiver.Url.ToString(), "--secret", Secret, "--events", string.Join(",", LifecycleEvents.Select(e => e.Name)), "--report", junit]);

        Assert.Equal(ExitCodes.Failed, exit);
        Assert.Contains(stdout.ToString().Split('\n'), l => l.StartsWith("  booking lifecycle out-of-order: ", StringComparison.Ordinal)
            && l.Contains("order later-steps-first", StringComparison.Ordinal));
        var cases = XDocument.Load(junit).Root!.Element("testsuite")!.Elements("testcase").ToList();
        Assert.Equal(LifecycleEvents.Length * ContractChecks.PerEvent.Count + 1, cases.Count);
        var outOfOrder = Assert.Single(cases, c => c.Attribute("name")!.Value == ContractChecks.OutOfOrder);
        Assert.Equal(OutOfOrderCheck.Subject, outOfOrder.Attribute("classname")!.Value);
        Assert.Contains("step 1 booking.canceled not acknowledged in 15 attempt(s), the last 409", outOfOrder.Element("failure")!.Attribute("message")!.Value, StringComparison.Ordinal);
    }
}
