using System.Globalization;
using OnceHub.Contracts.Suite;
using Spectre.Console;

namespace OnceHub.Contracts.Cli.Output;

/// <summary>
/// A run's report for people: one row per event and one column per check, named as in
/// <see cref="ContractChecks"/>; short cells, then the failures with their evidence, then the verdict.
/// </summary>
internal static class SuiteTable
{
    public static void Write(IAnsiConsole console, TextWriter output, SuiteReport report)
    {
        output.WriteLine($"OnceHub webhook contract: {report.Target} (timeout {Seconds(report.Timeout)})");
        output.WriteLine();
        var table = new Table().Border(TableBorder.Simple).AddColumn("event");
        foreach (var check in ContractChecks.All)
        {
            table.AddColumn(check.Name);
        }
        foreach (var e in report.Events)
        {
            table.AddRow([new Text(e.Event.Name), .. e.Checks.Select(Cell)]);
        }
        console.Write(table);

        var notPassed = report.Checks.Where(c => !c.Passed).ToList();
        if (notPassed.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("Failures:");
            // The same outcome for several events (a receiver that refuses everything) is written once, with its events.
            foreach (var same in notPassed.GroupBy(f => (f.Check, f.Status, f.Detail)))
            {
                var events = same.Select(f => f.Event).ToList();
                var where = events.Count == 1 ? events[0] : $"{events.Count} events ({string.Join(", ", events)})";
                output.WriteLine($"  {where} {same.Key.Check}{(same.Key.Status == CheckStatus.Skipped ? " (skipped)" : "")}: {same.Key.Detail}");
            }
        }
        output.WriteLine();
        output.WriteLine($"{ContractChecks.Accepted} shows the attempt and simulated offset on OnceHub's retry schedule at which the event got through.");
        var stopped = report.DeadlineReached ? " (stopped at the run's deadline)" : "";
        var skipped = report.SkippedCount > 0 ? $", {report.SkippedCount} not tried" : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(report.Interrupted ? "INTERRUPTED" : report.Passed ? "PASS" : "FAIL")}: {report.CheckCount} checks, {report.FailureCount} failed{skipped}, {report.WallTime.TotalSeconds:0.00} s{stopped}"));
    }

    private static Text Cell(CheckResult c) => c.Status switch
    {
        CheckStatus.Passed => new Text("ok " + c.Summary, new Style(Color.Green)),
        CheckStatus.Skipped => new Text("skip", new Style(Color.Yellow)),
        _ => new Text("FAIL " + c.Summary, new Style(Color.Red)),
    };

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
