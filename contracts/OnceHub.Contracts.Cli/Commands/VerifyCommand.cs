using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using OnceHub.Contracts.Cli.Output;
using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Suite;
using OnceHub.Events;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary><c>verify</c>: the contract suite against a receiver endpoint, or against the bundled reference receiver.</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var target = CommonOptions.Target(required: false);
        target.Description = "the receiver endpoint; without it the bundled reference receiver is started on 127.0.0.1 with a generated secret and verified";
        var secret = CommonOptions.Secret();
        var timeout = CommonOptions.Timeout();
        var events = CommonOptions.Events();
        var concurrency = new Option<int>("--concurrency")
        {
            Description = $"how many requests may be in flight at once (1 to 64), default {SuiteOptions.DefaultConcurrency}, "
                + "which a single-threaded receiver passes; the run's deadline grows as requests / concurrency",
            HelpName = "N",
            DefaultValueFactory = _ => SuiteOptions.DefaultConcurrency,
            CustomParser = r => CommonOptions.Parse(r, "--concurrency", static v =>
                int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 64
                    ? n
                    : throw new UsageException($"--concurrency: '{Parsing.Printable(v)}' must be a whole number from 1 to 64")),
        };
        var report = new Option<string?>("--report")
        {
            Description = "also write the results as JUnit XML to this file (checked for writability before any request)",
            HelpName = "FILE.xml",
            CustomParser = r => CommonOptions.Parse(r, "--report", static v => ReportFile.Check("--report", v)),
        };
        var verbose = new Option<bool>("--verbose", "-v")
        {
            Description = "print every request (method, URL, headers with the signature's s= redacted, body size) and its answer",
        };

        var command = new Command("verify", "Prove a receiver endpoint honours OnceHub's webhook contract. Per event:"
            + string.Concat(ContractChecks.PerEvent.Select(c => $"\n  {c.Name,-18} {c.Meaning}"))
            + $"\nOnce per run, on one booking's lifecycle (when {string.Join(", ", OutOfOrderPlan.Default.Scenario.Events)} are all selected):"
            + string.Concat(ContractChecks.Lifecycle.Select(c => $"\n  {c.Name,-18} {c.Meaning}"))
            + "\nThe run is bounded: checks still waiting when timeout x (requests / concurrency + 2), at least 5 s, has passed fail."
            + "\nExit 0 when every check holds, 1 otherwise, 2 for bad input, 130 when interrupted (the table and report show what finished).")
        {
            target, secret, timeout, events, concurrency, report, verbose,
        };
        command.SetAction(async (parsed, ct) =>
        {
            var output = parsed.InvocationConfiguration.Output;
            var error = parsed.InvocationConfiguration.Error;
            var url = parsed.GetValue(target);
            var key = CommonOptions.SecretValue(parsed, secret);
            if (url is not null && key is null)
            {
                throw new UsageException($"verify: --secret (or {CliApp.SecretVariable}) is required with --target");
            }
            var reportPath = parsed.GetValue(report);
            ReferenceReceiver? bundled = null;
            if (url is null)
            {
                key ??= RandomNumberGenerator.GetHexString(40, lowercase: true);
                bundled = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [key] }, ct);
                url = bundled.Url;
                await error.WriteLineAsync($"verify: started the reference receiver at {url}");
            }
            try
            {
                var stderrConsole = Consoles.For(error);
                var selected = parsed.GetValue(events) ?? EventCatalog.Specific;
                ProgressDisplay? progress = null;
                Action<string>? trace = null;
                if (parsed.GetValue(verbose))
                {
                    // Requests finish on any thread: one answer's lines stay together.
                    var oneAtATime = new Lock();
                    trace = text =>
                    {
                        lock (oneAtATime)
                        {
                            error.WriteLine(text);
                        }
                    };
                }
                var options = new SuiteOptions
                {
                    Target = url,
                    Secret = key!,
                    Timeout = CommonOptions.TimeoutValue(parsed, timeout),
                    Events = selected,
                    Concurrency = parsed.GetValue(concurrency),
                    Progress = (done, total) => progress?.Report(done, total),
                    Trace = trace,
                };
                progress = new ProgressDisplay(stderrConsole, "verify", options.CheckCount);
                await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"verify: {selected.Count} event(s), {options.CheckCount} checks against {ContractSuite.DisplayTarget(url)}, timeout {options.Timeout.TotalSeconds:0.###} s, concurrency {options.Concurrency}, bounded by {options.Deadline.TotalSeconds:0.###} s"));
                var run = ContractSuite.RunAsync(options, ct);
                // Verbose output and an in-place progress line would overwrite each other: one or the other.
                if (options.Trace is null)
                {
                    await progress.FollowAsync(run);
                }
                var result = await run;

                SuiteTable.Write(Consoles.For(output), output, result);
                if (reportPath is not null)
                {
                    ReportFile.Write(reportPath, result);
                    await error.WriteLineAsync($"verify: JUnit report written to {reportPath}");
                }
                if (result.Interrupted)
                {
                    await error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"verify: interrupted; {result.SkippedCount} check(s) not finished are marked skipped"));
                    return ExitCodes.Interrupted;
                }
                return result.Passed ? ExitCodes.Ok : ExitCodes.Failed;
            }
            finally
            {
                if (bundled is not null)
                {
                    await bundled.DisposeAsync();
                }
            }
        });
        return command;
    }
}
