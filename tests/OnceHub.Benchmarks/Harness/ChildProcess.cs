using System.Diagnostics;
using System.Text;
using OnceHub.TestSupport;

namespace OnceHub.Benchmarks.Harness;

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed);

/// <summary>Runs a command to completion, capturing its output.</summary>
public static class ChildProcess
{
    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> args, string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = DotnetCommand.StartInfo(fileName, workingDirectory, args);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new BenchmarkException($"could not start {fileName}");
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var outPump = Pump(process.StandardOutput, stdout);
        var errPump = Pump(process.StandardError, stderr);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new BenchmarkException($"{Path.GetFileName(fileName)} {string.Join(' ', args.Take(2))} did not finish in {timeout.TotalSeconds:0} s");
        }

        await Task.WhenAll(outPump, errPump);
        return new ProcessResult(process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed);
    }

    private static async Task Pump(StreamReader reader, StringBuilder into)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            into.AppendLine(line);
        }
    }

    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
