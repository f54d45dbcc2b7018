using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Suite;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// The contract suite's wall time after build: <c>dotnet OnceHub.Contracts.Cli.dll verify</c> with no
/// target (the bundled reference receiver, every event type, the full 72 h retry simulation), beside the
/// same suite run in-process through the library.
/// </summary>
public static partial class Suite
{
    public const string Name = "suite";
    private const string Title = "Contract suite (`verify`, reference receiver, full 72 h schedule)";
    private const string Target = "< 3 s wall";
    private const int Runs = 3;
    private const double TargetSeconds = 3;

    public static async Task<Figure> RunAsync()
    {
        var dll = await Artifacts.CliAsync();
        Progress.Line($"{Name}: 1 warm-up and {Runs} measured runs of `dotnet {Path.GetFileName(dll)} verify`");
        await VerifyOnceAsync(dll, [], null);
        var cli = new List<double>();
        var reported = new List<double>();
        var checks = 0;
        for (var i = 0; i < Runs; i++)
        {
            var run = await VerifyOnceAsync(dll, [], null);
            cli.Add(run.Wall);
            reported.Add(run.SuiteSeconds);
            checks = run.Checks;
        }

        // The CLI's fixed cost: runtime start and argument handling, with no suite run.
        var help = new List<double>();
        for (var i = 0; i < Runs; i++)
        {
            help.Add((await ChildProcess.RunAsync("dotnet", [dll, "--help"], Repo.Root, TimeSpan.FromMinutes(1))).Elapsed.TotalSeconds);
        }

        // The reference receiver accepts every first attempt; a receiver in a permanent outage makes every
        // event run all of the schedule's attempts over the simulated 72 h, the suite's worst case.
        Progress.Line($"{Name}: once against a receiver that answers 503 to everything (every event retried for 72 h)");
        (double Wall, double SuiteSeconds, int Checks) outage;
        await using (var down = await UnavailableReceiver.StartAsync())
        {
            var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
            outage = await VerifyOnceAsync(dll, ["--target", down.Url.ToString()],
                new Dictionary<string, string> { [ReceiverProgram.SecretVariable] = secret });
        }

        Progress.Line($"{Name}: the same suite in-process (1 cold, {Runs} warm runs)");
        var coldInProcess = await InProcessOnceAsync();
        var warm = new List<double>();
        for (var i = 0; i < Runs; i++)
        {
            warm.Add(await InProcessOnceAsync());
        }

        var median = Stats.Median(cli);
        return new Figure(Name, Title,
            $"{Format.Seconds(median)} median of {Runs} CLI runs (max {Format.Seconds(cli.Max())}), {checks} checks passed",
            $"{Format.Seconds(coldInProcess)} in-process first run (library ContractSuite.RunAsync, JIT included, no process start)",
            median / coldInProcess, Target, median < TargetSeconds,
            [
                $"CLI breakdown: {Format.Seconds(Stats.Median(help))} runtime start + `--help`; the suite's own clock inside the CLI {Format.Seconds(Stats.Median(reported))}; the rest is receiver start-up and JIT",
                $"in-process warm median {Format.Seconds(Stats.Median(warm))}: once JIT-compiled, {checks} checks over loopback cost almost nothing",
                $"worst case, a receiver answering 503 to everything: {Format.Seconds(outage.Wall)} CLI wall ({Format.Seconds(outage.SuiteSeconds)} suite clock) for all {RetryAttempts} attempts of every event over the simulated 72 h",
            ]);
    }

    private static int RetryAttempts => OnceHub.Contracts.RetrySchedule.AttemptCount;

    /// <summary>Runs <c>verify</c>; <paramref name="environment"/> null means the default target, which must pass.</summary>
    private static async Task<(double Wall, double SuiteSeconds, int Checks)> VerifyOnceAsync(
        string dll, string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var result = await ChildProcess.RunAsync("dotnet", [dll, "verify", .. args], Repo.Root, TimeSpan.FromMinutes(2), environment);
        var output = result.Stdout + "\n" + result.Stderr;
        var verdict = VerdictLine().Match(output);
        var mustPass = environment is null;
        if (!verdict.Success || (mustPass && (result.ExitCode != 0 || verdict.Groups["verdict"].Value != "PASS")))
        {
            var line = verdict.Success ? verdict.Value : $"exit code {result.ExitCode}";
            throw new BenchmarkException($"`verify` {(mustPass ? "against the reference receiver did not pass" : "printed no verdict")} ({line})");
        }

        return (result.Elapsed.TotalSeconds,
            double.Parse(verdict.Groups["seconds"].Value, CultureInfo.InvariantCulture),
            int.Parse(verdict.Groups["checks"].Value, CultureInfo.InvariantCulture));
    }

    private static async Task<double> InProcessOnceAsync()
    {
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret] });
        var report = await ContractSuite.RunAsync(new SuiteOptions { Target = receiver.Url, Secret = secret });
        if (!report.Passed)
        {
            throw new BenchmarkException($"the in-process suite failed {report.FailureCount} of {report.CheckCount} checks against the reference receiver");
        }

        return report.WallTime.TotalSeconds;
    }

    [GeneratedRegex(@"(?<verdict>PASS|FAIL): (?<checks>\d+) checks, (?<failed>\d+) failed(, \d+ not tried)?, (?<seconds>\d+(\.\d+)?) s")]
    private static partial Regex VerdictLine();
}
