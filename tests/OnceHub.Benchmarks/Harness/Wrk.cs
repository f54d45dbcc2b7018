using System.Globalization;
using System.Text.RegularExpressions;

namespace OnceHub.Benchmarks.Harness;

public sealed record WrkResult(double RequestsPerSecond, long Requests, long Non2xx, string SocketErrors, double P99Ms);

/// <summary>wrk, the reference HTTP load generator: found on PATH or installed from the Debian package.</summary>
public static partial class Wrk
{
    /// <summary>The wrk binary; installs the <c>wrk</c> package with apt-get when it is missing.</summary>
    public static async Task<string> EnsureAsync()
    {
        if (ChildProcess.FindOnPath("wrk") is { } found)
        {
            return found;
        }

        if (ChildProcess.FindOnPath("apt-get") is not { } apt)
        {
            throw new BenchmarkException("wrk is not installed and apt-get is not available to install it");
        }

        Progress.Line("wrk: not found; apt-get install -y wrk");
        var install = await ChildProcess.RunAsync(apt, ["install", "-y", "wrk"], Repo.Root, TimeSpan.FromMinutes(5));
        if (install.ExitCode != 0)
        {
            Progress.Line("wrk: install failed; apt-get update, then again");
            await ChildProcess.RunAsync(apt, ["update"], Repo.Root, TimeSpan.FromMinutes(5));
            install = await ChildProcess.RunAsync(apt, ["install", "-y", "wrk"], Repo.Root, TimeSpan.FromMinutes(5));
        }

        return ChildProcess.FindOnPath("wrk")
            ?? throw new BenchmarkException($"wrk could not be installed (apt-get exit {install.ExitCode}: {install.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()})");
    }

    public static async Task<WrkResult> RunAsync(string wrk, string script, Uri target, int connections, int seconds)
    {
        var result = await ChildProcess.RunAsync(wrk,
            ["-t2", $"-c{connections}", $"-d{seconds}s", "--latency", "-s", script, target.ToString()],
            Path.GetDirectoryName(script)!, TimeSpan.FromSeconds(seconds + 60));
        var rate = RateLine().Match(result.Stdout);
        var total = TotalLine().Match(result.Stdout);
        if (result.ExitCode != 0 || !rate.Success || !total.Success)
        {
            throw new BenchmarkException($"wrk failed (exit {result.ExitCode}): {result.Stderr.Trim().Split('\n').FirstOrDefault()}");
        }

        var non2xx = Non2xxLine().Match(result.Stdout);
        var errors = SocketErrorsLine().Match(result.Stdout);
        var p99 = P99Line().Match(result.Stdout);
        return new WrkResult(
            double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture),
            long.Parse(total.Groups[1].Value, CultureInfo.InvariantCulture),
            non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            errors.Success ? errors.Groups[1].Value.Trim() : "none",
            p99.Success ? Milliseconds(double.Parse(p99.Groups[1].Value, CultureInfo.InvariantCulture), p99.Groups[2].Value) : double.NaN);
    }

    private static double Milliseconds(double value, string unit) => unit switch
    {
        "us" => value / 1000,
        "s" => value * 1000,
        "m" => value * 60_000,
        _ => value,
    };

    [GeneratedRegex(@"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline)]
    private static partial Regex P99Line();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RateLine();

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex TotalLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
    private static partial Regex Non2xxLine();

    [GeneratedRegex(@"Socket errors:(.*)")]
    private static partial Regex SocketErrorsLine();
}
