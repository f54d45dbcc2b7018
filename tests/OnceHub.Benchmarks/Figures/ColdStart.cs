using System.Diagnostics;
using OnceHub.Benchmarks.Harness;
using OnceHub.TestSupport;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// Provider cold start: exec → port line on stdout, for the published plugin and for a bare Kestrel
/// HTTP/2 server published the same way. A build of the floor with gRPC and one service stands between
/// the two, so that the gap splits into what gRPC costs and what the plugin's own code costs. Every
/// binary starts in the repository root, where Pulumi.yaml is, because the engine starts plugins in the
/// project's directory; the plugin also starts once per round in an empty directory, which shows
/// whether anything at start-up depends on the tree below the working directory (a watched
/// configuration file would). Launches go round-robin, so drift in the machine's load hits all alike.
/// </summary>
public static class ColdStart
{
    public const string Name = "coldstart";
    private const string Title = "Provider cold start (exec → port)";
    private const string Target = "≤ 1.5× floor";
    private const int Launches = 25;
    private const int WarmUps = 2;
    private const double TargetRatio = 1.5;

    public static async Task<Figure> RunAsync()
    {
        var plugin = await Artifacts.PluginAsync();
        var floor = await Artifacts.FloorAsync("bare");
        var grpc = await Artifacts.FloorAsync("grpc");

        // The engine's address comes last; nothing listens there, which the plugin only notices when it logs.
        var empty = Directory.CreateTempSubdirectory("oncehub-bench-cwd-").FullName;
        (string Label, string Binary, string[] Args, string Cwd)[] subjects =
        [
            ("plugin", plugin, ["127.0.0.1:1"], Repo.Root),
            ("floor", floor, [], Repo.Root),
            ("grpc", grpc, [], Repo.Root),
            ("plugin-empty-cwd", plugin, ["127.0.0.1:1"], empty),
        ];
        Progress.Line($"{Name}: {WarmUps} warm-up and {Launches} measured launches of each of {subjects.Length} binaries");
        var times = subjects.ToDictionary(s => s.Label, _ => new List<double>());
        try
        {
            for (var i = 0; i < WarmUps + Launches; i++)
            {
                foreach (var (label, binary, args, cwd) in subjects)
                {
                    var ms = await LaunchAsync(binary, args, cwd);
                    if (i >= WarmUps)
                    {
                        times[label].Add(ms);
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }

        var median = times.ToDictionary(t => t.Key, t => Stats.Median(t.Value));
        var ratio = median["plugin"] / median["floor"];
        return new Figure(Name, Title,
            $"{Format.Ms(median["plugin"])} median (p90 {Format.Ms(Stats.Quantile(times["plugin"], 0.9))})",
            $"{Format.Ms(median["floor"])} median (p90 {Format.Ms(Stats.Quantile(times["floor"], 0.9))}) bare Kestrel HTTP/2",
            ratio, Target, ratio <= TargetRatio,
            [
                $"{Launches} launches each, round-robin, after {WarmUps} warm-ups, in the repository root; every binary Native AOT like the plugin",
                $"breakdown (medians): bare Kestrel {Format.Ms(median["floor"])}"
                    + $" → + gRPC with one service {Format.Ms(median["grpc"])} (+{Format.Ms(median["grpc"] - median["floor"])})"
                    + $" → plugin {Format.Ms(median["plugin"])} (+{Format.Ms(median["plugin"] - median["grpc"])}: its services, the 14-method provider service, the API client)",
                $"working directory: {Format.Ms(median["plugin-empty-cwd"])} in an empty directory against {Format.Ms(median["plugin"])} in the repository root ({DirectoryCount(Repo.Root)} directories)",
                $"spread: plugin {Format.Ms(times["plugin"].Min())}..{Format.Ms(times["plugin"].Max())}, floor {Format.Ms(times["floor"].Min())}..{Format.Ms(times["floor"].Max())}",
                $"binary sizes: plugin {Mib(plugin)}, floor {Mib(floor)}, floor + gRPC {Mib(grpc)}",
            ]);
    }

    private static int DirectoryCount(string root) => Directory.EnumerateDirectories(root, "*", SearchOption.AllDirectories).Count();

    private static string Mib(string path) => Format.Number(new FileInfo(path).Length / 1048576.0, "0.0") + " MiB";

    /// <summary>Milliseconds from exec to the first stdout line, which must be a port; the process is then killed.</summary>
    private static async Task<double> LaunchAsync(string binary, string[] args, string workingDirectory)
    {
        var start = DotnetCommand.StartInfo(binary, workingDirectory, args);
        start.Environment.Remove("ONCEHUB_API_KEY");
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new BenchmarkException($"could not start {binary}");
        var errors = process.StandardError.ReadToEndAsync();
        try
        {
            var line = process.StandardOutput.ReadLineAsync();
            if (await Task.WhenAny(line, Task.Delay(TimeSpan.FromSeconds(30))) != line)
            {
                throw new BenchmarkException($"{Path.GetFileName(binary)} printed no port within 30 s");
            }

            var elapsed = clock.Elapsed.TotalMilliseconds;
            if (!int.TryParse(await line, out var port) || port is <= 0 or > 65535)
            {
                throw new BenchmarkException($"{Path.GetFileName(binary)}'s first stdout line is not a port: '{await line}'");
            }

            return elapsed;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync();
            await errors;
        }
    }
}
