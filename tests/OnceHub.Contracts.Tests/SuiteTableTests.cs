using OnceHub.Contracts.Cli.Output;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Suite;
using OnceHub.Events;
using Spectre.Console.Testing;

namespace OnceHub.Contracts.Tests;

public class SuiteTableTests
{
    private static SuiteReport Report() => new("http://127.0.0.1:8080/hook", TimeSpan.FromSeconds(10),
        [.. EventCatalog.Specific.Select(e => new EventReport(e, new DeliveryResult([]),
            [.. ContractChecks.PerEvent.Select(c => e.Name == "booking.canceled_reschedule_requested" && c.Name == ContractChecks.AnswersInTime
                ? new CheckResult(e.Name, c.Name, CheckStatus.Failed, "1 unanswered", "1 of 11 requests got no answer within 10 s", TimeSpan.Zero)
                : new CheckResult(e.Name, c.Name, CheckStatus.Passed, "200", "acknowledged", TimeSpan.Zero))],
            TimeSpan.Zero))],
        TimeSpan.FromSeconds(3), DeadlineReached: false)
    {
        Lifecycle = [new CheckResult(OutOfOrderCheck.Subject, ContractChecks.OutOfOrder, CheckStatus.Failed, "1/2",
            "order later-steps-first (booking.canceled → booking.rescheduled → booking.scheduled): step 1 booking.canceled not acknowledged in 15 attempt(s), the last 409 in 1 ms",
            TimeSpan.Zero)],
    };

    [Fact]
    public void At_80_columns_every_line_fits_and_no_event_or_check_name_is_cut()
    {
        var console = new TestConsole().Width(80);
        using var output = new StringWriter();

        SuiteTable.Write(console, output, Report());

        var lines = console.Output.Split('\n');
        Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= 80, $"{l.TrimEnd().Length} columns: {l}"));
        Assert.DoesNotContain("…", console.Output, StringComparison.Ordinal);
        // Each event on one line with its verdict: the failing check named whole, the others summed up.
        Assert.Contains(lines, l => l.Contains("booking.canceled_reschedule_requested", StringComparison.Ordinal)
            && l.Contains("answers-in-time: FAIL 1 unanswered", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("conversation.abandoned", StringComparison.Ordinal) && l.Contains("ok (8)", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(OutOfOrderCheck.Subject, StringComparison.Ordinal) && l.Contains("out-of-order: FAIL 1/2", StringComparison.Ordinal));
    }

    [Fact]
    public void On_a_wide_console_each_check_has_its_column()
    {
        var console = new TestConsole().Width(240);
        using var output = new StringWriter();

        SuiteTable.Write(console, output, Report());

        var lines = console.Output.Split('\n');
        var header = lines.First(l => l.Contains("event", StringComparison.Ordinal));
        Assert.All(ContractChecks.PerEvent, c => Assert.Contains(c.Name, header, StringComparison.Ordinal));
        // The lifecycle's checks have a table of their own below, its row named for the lifecycle.
        var lifecycleHeader = lines.First(l => l.Contains("lifecycle", StringComparison.Ordinal));
        Assert.All(ContractChecks.Lifecycle, c => Assert.Contains(c.Name, lifecycleHeader, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(OutOfOrderCheck.Subject, StringComparison.Ordinal) && l.Contains("FAIL 1/2", StringComparison.Ordinal));
        Assert.Contains("booking lifecycle out-of-order: order later-steps-first", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_outcome_shared_by_several_events_is_written_once_with_its_events()
    {
        var report = new SuiteReport("http://127.0.0.1:8080/hook", TimeSpan.FromSeconds(10),
            [.. EventCatalog.Specific.Select((e, i) => new EventReport(e, new DeliveryResult([]),
                [.. ContractChecks.PerEvent.Select(c => c.Name == ContractChecks.ForgedSignature
                    ? new CheckResult(e.Name, c.Name, CheckStatus.Failed, "200", $"accepted (200 in {i} ms): the receiver takes forged signatures", TimeSpan.Zero)
                    : new CheckResult(e.Name, c.Name, CheckStatus.Passed, "200", "acknowledged", TimeSpan.Zero))],
                TimeSpan.Zero))],
            TimeSpan.FromSeconds(3), DeadlineReached: false);
        using var output = new StringWriter();

        SuiteTable.Write(new TestConsole().Width(240), output, report);

        var failures = output.ToString().Split('\n').Where(l => l.Contains("forged", StringComparison.Ordinal)).ToList();
        Assert.Equal("  every event forged-signature: accepted (200): the receiver takes forged signatures", Assert.Single(failures).TrimEnd());
    }
}
