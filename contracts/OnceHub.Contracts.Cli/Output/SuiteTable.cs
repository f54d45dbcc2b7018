using System.Globalization;
using System.Text.RegularExpressions;
using OnceHub.Contracts.Suite;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace OnceHub.Contracts.Cli.Output;

/// <summary>
/// A run's report for people: one row per event and one column per check, named as in
/// <see cref="ContractChecks"/>, and a row for the booking lifecycle's checks; short cells, then the failures
/// with their evidence, then the verdict.
/// </summary>
internal static partial class SuiteTable
{
    [GeneratedRegex(@" in [0-9]+ ms", RegexOptions.CultureInvariant)]
    private static partial Regex AnswerTime();

    public static void Write(IAnsiConsole console, TextWriter output, SuiteReport report)
    {
        output.WriteLine($"OnceHub webhook contract: {report.Target} (timeout {Seconds(report.Timeout)})");
        output.WriteLine();
        if (console.Profile.Width >= WideWidth(report))
        {
            console.Write(Wide(report));
            if (report.Lifecycle.Count > 0)
            {
                console.Write(WideLifecycle(report));
            }
        }
        else
        {
            console.Write(Narrow(report));
        }

        var notPassed = report.Checks.Where(c => !c.Passed).ToList();
        if (notPassed.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("Failures:");
            // The same outcome for several events (a receiver that refuses everything) is written once, with its
            // events; answer times differ from one request to the next, so they are left out of the comparison.
            foreach (var same in notPassed.GroupBy(f => (f.Check, f.Status, Detail: AnswerTime().Replace(f.Detail, ""))))
            {
                var events = same.Select(f => f.Event).ToList();
                var (where, detail) = events.Count == 1 ? (events[0], same.First().Detail)
                    : events.Count == report.Events.Count ? ("every event", same.Key.Detail)
                    : ($"{events.Count} events ({string.Join(", ", events)})", same.Key.Detail);
                output.WriteLine($"  {where} {same.Key.Check}{(same.Key.Status == CheckStatus.Skipped ? " (skipped)" : "")}: {detail}");
            }
        }
        output.WriteLine();
        output.WriteLine($"{ContractChecks.Accepted} shows the attempt and simulated offset on OnceHub's retry schedule at which the event got through.");
        var stopped = report.DeadlineReached ? " (stopped at the run's deadline)" : "";
        var skipped = report.SkippedCount > 0 ? $", {report.SkippedCount} not tried" : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(report.Interrupted ? "INTERRUPTED" : report.Passed ? "PASS" : "FAIL")}: {report.CheckCount} checks, {report.FailureCount} failed{skipped}, {report.WallTime.TotalSeconds:0.00} s{stopped}"));
    }

    /// <summary>One column per check: what a wide terminal or a log shows.</summary>
    private static Table Wide(SuiteReport report)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn("event");
        foreach (var check in ContractChecks.PerEvent)
        {
            table.AddColumn(check.Name);
        }
        foreach (var e in report.Events)
        {
            table.AddRow([new Text(e.Event.Name), .. e.Checks.Select(Cell)]);
        }
        return table;
    }

    /// <summary>The lifecycle's checks under the events' table, one column each.</summary>
    private static Table WideLifecycle(SuiteReport report)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn("lifecycle");
        foreach (var check in ContractChecks.Lifecycle)
        {
            table.AddColumn(check.Name);
        }
        table.AddRow([new Text(report.Lifecycle[0].Event), .. report.Lifecycle.Select(Cell)]);
        return table;
    }

    /// <summary>
    /// For a narrow terminal: per event, "ok" or the checks that did not pass with their short result; the column
    /// of results wraps between checks, so no name is cut.
    /// </summary>
    private static Table Narrow(SuiteReport report)
    {
        var table = new Table().Border(TableBorder.Simple).AddColumn("event", c => c.NoWrap()).AddColumn("checks");
        foreach (var (name, checks) in report.Events.Select(e => (e.Event.Name, e.Checks))
            .Concat(report.Lifecycle.Count > 0 ? [(report.Lifecycle[0].Event, report.Lifecycle)] : []))
        {
            var notPassed = checks.Where(c => !c.Passed).ToList();
            IRenderable result = notPassed.Count == 0
                ? new Text($"ok ({checks.Count})", new Style(Color.Green))
                : new Rows(notPassed.Select(c => new Text($"{c.Check}: {CellText(c)}", CellStyle(c))));
            table.AddRow(new Text(name), result);
        }
        return table;
    }

    /// <summary>The width the one-column-per-check table needs: each column's widest text plus Spectre's padding and border.</summary>
    private static int WideWidth(SuiteReport report)
    {
        var eventWidth = report.Events.Select(e => e.Event.Name.Length).Append("event".Length).Max();
        var checkWidths = ContractChecks.PerEvent.Select((check, i) => report.Events
            .Select(e => CellText(e.Checks[i]).Length).Append(check.Name.Length).Max());
        return eventWidth + checkWidths.Sum() + (3 * (ContractChecks.PerEvent.Count + 1)) + 1;
    }

    private static Text Cell(CheckResult c) => new(CellText(c), CellStyle(c));

    private static string CellText(CheckResult c) => c.Status switch
    {
        CheckStatus.Passed => "ok " + c.Summary,
        CheckStatus.Skipped => c.Summary == "interrupted" ? "interrupted" : "skip",
        _ => "FAIL " + c.Summary,
    };

    private static Style CellStyle(CheckResult c) => c.Status switch
    {
        CheckStatus.Passed => new Style(Color.Green),
        CheckStatus.Skipped => new Style(Color.Yellow),
        _ => new Style(Color.Red),
    };

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
