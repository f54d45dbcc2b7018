using System.Collections.Concurrent;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Suite;
using OnceHub.Events;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

public class ContractSuiteTests
{
    private const string Secret = "suite-test-secret";

    private static readonly string[] ProbeChecks =
        [ContractChecks.ForgedSignature, ContractChecks.TamperedBody, ContractChecks.MissingSignature, ContractChecks.StaleTimestamp];

    private static Task<SuiteReport> RunAsync(Uri target, TimeSpan? timeout = null) =>
        ContractSuite.RunAsync(new SuiteOptions { Target = target, Secret = Secret, Timeout = timeout ?? TimeSpan.FromSeconds(10) });

    private static CheckResult Check(SuiteReport report, string eventName, string check) =>
        report.Checks.Single(c => c.Event == eventName && c.Check == check);

    [Fact]
    public async Task Reference_receiver_passes_every_check_for_every_event()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret] });

        var report = await RunAsync(receiver.Url);

        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Checks.Where(c => !c.Passed).Select(c => $"{c.Event} {c.Check}: {c.Detail}")));
        Assert.Equal((EventCatalog.Specific.Count * ContractChecks.PerEvent.Count) + ContractChecks.Lifecycle.Count, report.CheckCount);
        Assert.Equal(EventCatalog.Specific.Select(e => e.Name), report.Events.Select(e => e.Event.Name));
        Assert.All(report.Events, e => Assert.Equal(1, e.Delivery.AcceptedAttempt!.Attempt));
        Assert.Equal("2/2", Check(report, OutOfOrderCheck.Subject, ContractChecks.OutOfOrder).Summary);
        // One processed event per type, per variant of its family and per step of the out-of-order lifecycles; the
        // redeliveries were acknowledged as duplicates; the unknown future type of each forward-compatibility check was ignored.
        Assert.Equal(EventCatalog.Specific.Sum(e => 1 + ContractResources.ReadVariants(e.Family).Count) + OutOfOrderCheck.Requests,
            receiver.ProcessedCount);
        Assert.Equal(EventCatalog.Specific.Count, receiver.DuplicateCount);
        Assert.Equal(EventCatalog.Specific.Count, receiver.Count(ReceiveOutcome.Ignored));
        Assert.False(report.DeadlineReached);
    }

    [Fact]
    public async Task Receiver_accepting_everything_fails_every_signature_probe()
    {
        await using var receiver = await TestReceiver.StartAsync((_, _) => Task.FromResult(200));

        var report = await RunAsync(receiver.Url);

        Assert.False(report.Passed);
        Assert.Equal(EventCatalog.Specific.Count * ProbeChecks.Length, report.FailureCount);
        Assert.All(report.Checks.Where(c => ProbeChecks.Contains(c.Check)), c =>
        {
            Assert.False(c.Passed);
            Assert.Contains("the receiver takes", c.Detail, StringComparison.Ordinal);
        });
        Assert.True(Check(report, "booking.scheduled", ContractChecks.Accepted).Passed);
        Assert.True(Check(report, "booking.scheduled", ContractChecks.Redelivery).Passed);
    }

    [Fact]
    public async Task Receiver_answering_5xx_to_forgeries_fails_them()
    {
        await using var receiver = await TestReceiver.VerifyingAsync(Secret, _ => 200, whenInvalid: 500);

        var report = await RunAsync(receiver.Url);

        Assert.Equal(EventCatalog.Specific.Count * ProbeChecks.Length, report.FailureCount);
        var forged = Check(report, "conversation.started", ContractChecks.ForgedSignature);
        Assert.False(forged.Passed);
        Assert.Contains("5xx", forged.Detail, StringComparison.Ordinal);
        Assert.All(report.Checks.Where(c => c.Check == ContractChecks.Accepted), c => Assert.True(c.Passed));
    }

    [Fact]
    public async Task Receiver_failing_first_attempts_gets_through_later_and_the_report_shows_where()
    {
        var seen = new ConcurrentDictionary<string, int>();
        await using var receiver = await TestReceiver.VerifyingAsync(Secret, id => seen.AddOrUpdate(id, 1, (_, n) => n + 1) <= 2 ? 503 : 200);

        var report = await RunAsync(receiver.Url);

        Assert.True(report.Passed);
        Assert.All(report.Events, e =>
        {
            Assert.Equal(3, e.Delivery.AcceptedAttempt!.Attempt);
            Assert.Equal(TimeSpan.FromSeconds(215), e.Delivery.AcceptedAttempt.Offset);
        });
        var accepted = Check(report, "booking.completed", ContractChecks.Accepted);
        Assert.Equal("#3 +215s", accepted.Summary);
        Assert.Contains("after 503, 503", accepted.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_interrupted_run_reports_what_finished_and_skips_the_rest_as_interrupted()
    {
        // booking.scheduled hangs, but for the very first request (which tells the sender the receiver keeps
        // connections; later requests wait for that answer); conversation.started is answered at once.
        var first = 0;
        await using var receiver = await TestReceiver.StartAsync(async (http, body) =>
        {
            if (Interlocked.Exchange(ref first, 1) == 1
                && System.Text.Encoding.UTF8.GetString(body).Contains("\"booking.scheduled\"", StringComparison.Ordinal))
            {
                await Task.Delay(Timeout.Infinite, http.RequestAborted);
            }
            return 200;
        });
        using var interrupt = new CancellationTokenSource();
        var report = await ContractSuite.RunAsync(new SuiteOptions
        {
            Target = receiver.Url,
            Secret = Secret,
            // Every request at once, so the hanging ones hold up none of the others.
            Timeout = TimeSpan.FromSeconds(60),
            Concurrency = 64,
            Events = [.. EventCatalog.Specific.Where(e => e.Name is "booking.scheduled" or "conversation.started")],
            // Once as many checks are done as one event has, as Ctrl+C would.
            Progress = (done, _) =>
            {
                if (done >= ContractChecks.PerEvent.Count)
                {
                    interrupt.Cancel();
                }
            },
        }, interrupt.Token);

        Assert.True(report.Interrupted);
        Assert.False(report.DeadlineReached);
        var hung = report.Events.Single(e => e.Event.Name == "booking.scheduled").Checks;
        // All but perhaps its delivery, which may have been that first request.
        Assert.True(hung.Count(c => (c.Status, c.Summary) == (CheckStatus.Skipped, "interrupted")) >= ContractChecks.PerEvent.Count - 1);
        Assert.DoesNotContain(hung, c => c.Status == CheckStatus.Failed);
        Assert.True(Check(report, "conversation.started", ContractChecks.Accepted).Passed);
    }

    [Fact]
    public async Task Receiver_that_never_answers_is_judged_after_three_timeouts_not_one_per_request()
    {
        await using var receiver = await TestReceiver.StartAsync(async (http, _) =>
        {
            await Task.Delay(Timeout.Infinite, http.RequestAborted);
            return 200;
        });

        // Every event, one request at a time, 1 s each: 128 requests, whose timeouts alone would take over 2 minutes.
        var report = await ContractSuite.RunAsync(new SuiteOptions { Target = receiver.Url, Secret = Secret, Timeout = TimeSpan.FromSeconds(1) });

        Assert.False(report.Passed);
        Assert.False(report.DeadlineReached);
        Assert.Equal(SuiteOptions.TimeoutsBeforeGivingUp, receiver.Requests.Count);
        // The verdict comes within max(30 s, 4 x the timeout).
        Assert.True(report.WallTime < Deadline.Seconds(30), $"verdict after {report.WallTime.TotalSeconds:0.0} s");
        // Every check fails but the redelivery, which is not tried without a first delivery.
        Assert.Equal((EventCatalog.Specific.Count * (ContractChecks.PerEvent.Count - 1)) + ContractChecks.Lifecycle.Count, report.FailureCount);
        Assert.Equal(EventCatalog.Specific.Count, report.SkippedCount);
        Assert.Contains("3 attempts in a row to this receiver timed out", string.Join("\n", report.Checks.Select(c => c.Detail)), StringComparison.Ordinal);
        Assert.Contains("no answer", Check(report, "booking.scheduled", ContractChecks.AnswersInTime).Detail, StringComparison.Ordinal);
        Assert.All(report.Events, e => Assert.False(e.Delivery.Delivered));
    }

    [Fact]
    public void Deadline_grows_with_requests_divided_by_concurrency()
    {
        var target = new Uri("http://127.0.0.1:1/");
        // Per event: delivery, redelivery, 4 probes, and the forward-compatible payloads (the family's
        // variants and one unknown type): 8 booking events x (6 + 4 + 1) + 4 conversation events x (6 + 3 + 1)
        // = 128 requests; then the out-of-order lifecycle's steps, 3 + 4. One at a time: 135 timeouts plus 2 of slack.
        Assert.Equal(128, EventCatalog.Specific.Sum(ContractChecks.RequestsFor));
        Assert.Equal(7, OutOfOrderCheck.Requests);
        Assert.Equal(135, new SuiteOptions { Target = target, Secret = "x" }.Requests);
        Assert.Equal(TimeSpan.FromSeconds(1370), new SuiteOptions { Target = target, Secret = "x" }.Deadline);
        // 8 at a time: 17 waves plus 2.
        Assert.Equal(TimeSpan.FromSeconds(190), new SuiteOptions { Target = target, Secret = "x", Concurrency = 8 }.Deadline);
        Assert.Equal(TimeSpan.FromSeconds(5), new SuiteOptions
        {
            Target = target,
            Secret = "x",
            Timeout = TimeSpan.FromMilliseconds(100),
            Concurrency = 64,
            Events = [EventCatalog.Specific[0]],
        }.Deadline);
    }

    [Fact]
    public void The_cli_readme_names_the_checks_as_the_catalog_does_in_its_order()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "OnceHubStack.sln")))
        {
            dir = dir.Parent;
        }
        Assert.NotNull(dir);
        var readme = File.ReadAllText(Path.Combine(dir.FullName, "contracts", "OnceHub.Contracts.Cli", "README.md"));
        var section = readme[readme.IndexOf("### What each check means", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n### ", 1, StringComparison.Ordinal)];
        var rows = System.Text.RegularExpressions.Regex.Matches(section, @"^\| `(?<name>[a-z-]+)` \|", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => m.Groups["name"].Value);
        Assert.Equal(ContractChecks.All.Select(c => c.Name), rows);
    }

    [Fact]
    public void Display_target_drops_credentials()
    {
        Assert.Equal("https://hooks.example.com/x", ContractSuite.DisplayTarget(new Uri("https://user:pw@hooks.example.com/x")));
    }
}
