using System.Diagnostics;
using Grpc.Core;
using OnceHub.Benchmarks.Figures;
using OnceHub.Benchmarks.Harness;

namespace OnceHub.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project tests/OnceHub.Benchmarks -- all|NAME...</c>: each figure beside its
/// reference measured in the same run, figures on stdout, progress on stderr.
/// </summary>
public static class Program
{
    private static readonly (string Name, string Meaning, Func<Task<Figure>> Run)[] Benchmarks =
    [
        (ColdStart.Name, "provider exec → port, median of 25 launches, vs a bare Kestrel HTTP/2 server built the same way", ColdStart.RunAsync),
        (Convergence.Name, "100 concurrent Creates over gRPC against the emulator at OnceHub's documented limits (then at 10 req/s): requests per webhook, wall time vs the ideal 20 s", Convergence.RunAsync),
        (Suite.Name, "`verify` against the reference receiver (full 72 h schedule, every event), wall time after build", Suite.RunAsync),
        (Replay.Name, "signed deliveries/s to the reference receiver at concurrency 32, vs wrk at 32 connections", Replay.RunAsync),
        (Receive.Name, "the library endpoint with a SQLite file store vs a bare Kestrel endpoint, 32 concurrent fresh-id deliveries, and a profile", Receive.RunAsync),
        (ReceiveWrk.Name, "the reference receiver with a SQLite file store under wrk with fresh pre-signed ids, vs a hand-written HMAC + SQLite endpoint and bare Kestrel", ReceiveWrk.RunAsync),
        (ReceiveWrkPostgres.Name, "the same on PostgreSQL: the reference receiver with its PostgreSQL store (and in the inbox mode) vs a hand-written HMAC + INSERT endpoint on Npgsql and bare Kestrel", ReceiveWrkPostgres.RunAsync),
        (Crash.Name, "kill -9 ×5 of the reference receiver on a SQLite file under 32 senders: acknowledged ids settled, missing, left claimed", Crash.RunAsync),
        (Strangers.Name, "the reference receiver's resident memory: 300 strangers holding 1 MiB−1 byte each, 10 s after, 1,000 announcing 1 MiB", Strangers.RunAsync),
        (Verify.Name, "ns and bytes per signature verification, vs raw HMACSHA256.HashData (BenchmarkDotNet)", Verify.RunAsync),
        (Fanout.Name, "local account fan-out deliveries/s (1 event → 100 webhooks, 1,000 → 10) vs wrk; 10,000 pending: memory, restart", Fanout.RunAsync),
    ];

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args.Any(a => a is "-h" or "--help" or "help"))
        {
            PrintHelp();
            return args.Length == 0 ? 2 : 0;
        }

        string? markdown = null;
        var markdownAt = Array.IndexOf(args, "--markdown");
        if (markdownAt >= 0)
        {
            if (markdownAt + 1 >= args.Length || args[markdownAt + 1].StartsWith('-'))
            {
                Console.Error.WriteLine("error: --markdown needs a file path");
                return 2;
            }

            markdown = Path.GetFullPath(args[markdownAt + 1]);
            args = [.. args[..markdownAt], .. args[(markdownAt + 2)..]];
        }

        var names = Benchmarks.Select(b => b.Name).ToList();
        if (args.Length == 0)
        {
            Console.Error.WriteLine("error: no benchmark named; expected all, " + string.Join(", ", names));
            return 2;
        }

        foreach (var arg in args)
        {
            if (arg != "all" && !names.Contains(arg))
            {
                Console.Error.WriteLine($"error: unknown benchmark '{arg}'; expected all, {string.Join(", ", names)} (see --help)");
                return 2;
            }
        }

        // Figures of unoptimised code would mislead: the library code measured in-process must be a Release build.
        if (!IsOptimized(typeof(OnceHub.Webhooks.SignatureVerifier).Assembly) || !IsOptimized(typeof(OnceHub.Contracts.RetrySchedule).Assembly) || !IsOptimized(typeof(Program).Assembly))
        {
            Console.Error.WriteLine("error: this is a Debug build; run: dotnet run -c Release --project tests/OnceHub.Benchmarks -- " + string.Join(' ', args));
            return 2;
        }

        var selected = args.Contains("all") ? Benchmarks : Benchmarks.Where(b => args.Contains(b.Name)).ToArray();
        var figures = new List<Figure>();
        var total = Stopwatch.StartNew();
        var machine = $"{DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}";
        Console.WriteLine($"OnceHub benchmarks, {machine}");
        foreach (var (name, meaning, run) in selected)
        {
            Console.Error.WriteLine($"[{name}]");
            Figure figure;
            try
            {
                figure = await run();
            }
            catch (BenchmarkException ex)
            {
                figure = Figure.NotMeasured(name, meaning, "", ex.Message);
            }
            catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or InvalidOperationException or System.ComponentModel.Win32Exception or System.Data.Common.DbException)
            {
                // One line per failed figure; the others still run.
                figure = Figure.NotMeasured(name, meaning, "", $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            }

            figures.Add(figure);
            PrintFigure(figure);
        }

        PrintSummary(figures, total.Elapsed);
        if (markdown is not null)
        {
            await File.WriteAllTextAsync(markdown, MarkdownTable(figures, machine));
            Console.Error.WriteLine($"summary table written to {markdown}");
        }

        return figures.Any(f => f.Ratio is null) ? 1 : 0;
    }

    private static bool IsOptimized(System.Reflection.Assembly assembly) =>
        assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is not [DebuggableAttribute { IsJITOptimizerDisabled: true }, ..];

    private static void PrintHelp()
    {
        Console.WriteLine("usage: dotnet run -c Release --project tests/OnceHub.Benchmarks -- all | NAME... [--markdown FILE]");
        Console.WriteLine();
        foreach (var (name, meaning, _) in Benchmarks)
        {
            Console.WriteLine($"  {name,-15} {meaning}");
        }

        Console.WriteLine($"  {"all",-15} every benchmark above, then a summary table");
        Console.WriteLine($"  {"--markdown",-15} also write the summary as a markdown table to FILE");
        Console.WriteLine();
        Console.WriteLine("Publishes the plugin and the Kestrel floor and builds the CLI into artifacts/bench (reused while");
        Console.WriteLine("their sources are unchanged); installs wrk with apt-get when missing. Progress goes to stderr.");
        Console.WriteLine("Exit code 0 when every selected figure was measured (PASS or MISS), 1 when one could not be, 2 for bad arguments.");
    }

    private static void PrintFigure(Figure f)
    {
        Console.WriteLine();
        Console.WriteLine($"{f.Title}: {f.Verdict}");
        Console.WriteLine($"  measured   {f.Measured}");
        if (f.Reference.Length > 0)
        {
            Console.WriteLine($"  reference  {f.Reference}");
        }

        Console.WriteLine($"  ratio      {f.RatioText}   target {f.Target}");
        foreach (var note in f.Notes)
        {
            Console.WriteLine($"  - {note}");
        }
    }

    private static void PrintSummary(List<Figure> figures, TimeSpan elapsed)
    {
        Console.WriteLine();
        Console.WriteLine($"Summary ({Format.Seconds(elapsed.TotalSeconds)} in all)");
        var rows = figures.Select(f => new[] { f.Name, Short(f.Measured), Short(f.Reference), f.RatioText, f.Target, f.Verdict }).ToList();
        string[] header = ["figure", "measured", "reference", "ratio", "target", "verdict"];
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        Console.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        Console.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in rows)
        {
            Console.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>The summary as a markdown table, for the README's Performance section.</summary>
    private static string MarkdownTable(List<Figure> figures, string machine)
    {
        var lines = new List<string>
        {
            $"Figures of one run: {machine}.",
            "",
            "| Figure | Measured | Reference (same run) | Ratio | Target | |",
            "|---|---|---|---|---|---|",
        };
        lines.AddRange(figures.Select(f => $"| {f.Title} | {f.Measured} | {f.Reference} | {f.RatioText} | {f.Target} | {f.Verdict} |"));
        return string.Join('\n', lines) + "\n";
    }

    // The summary keeps the leading figure; the details are printed above it.
    private static string Short(string text) => text.Split(" (", 2)[0];
}
