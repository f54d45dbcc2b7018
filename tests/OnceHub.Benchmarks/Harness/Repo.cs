using System.Diagnostics;
using OnceHub.TestSupport;

namespace OnceHub.Benchmarks.Harness;

/// <summary>The repository the benchmarks run in, and the builds they need, made here and not assumed.</summary>
public static class Repo
{
    public static string Root => Repository.Root;

    /// <summary>Where every benchmark output goes; git-ignored with the rest of <c>artifacts/</c>.</summary>
    public static string BenchFolder => Path.Combine(Root, "artifacts", "bench");

    /// <summary>
    /// Runs <c>dotnet publish|build</c> of <paramref name="project"/> into <paramref name="output"/>
    /// unless <paramref name="product"/> there is newer than every source under <paramref name="sourceFolders"/>.
    /// </summary>
    public static async Task<string> BuildAsync(string verb, string project, string output, string product, string[] sourceFolders, string[] extraArgs)
    {
        var outputFolder = Path.Combine(BenchFolder, output);
        var productPath = Path.Combine(outputFolder, product);
        if (IsFresh(productPath, sourceFolders))
        {
            Progress.Line($"{verb}: {project} is up to date in artifacts/bench/{output}");
            return productPath;
        }

        Progress.Line($"{verb}: {project} -c Release -> artifacts/bench/{output} (once; later runs reuse it)");
        var clock = Stopwatch.StartNew();
        var result = await ChildProcess.RunAsync(
            "dotnet", [verb, project, "-c", "Release", "-o", outputFolder, "-nologo", .. extraArgs], Root, TimeSpan.FromMinutes(15));
        if (result.ExitCode != 0 || !File.Exists(productPath))
        {
            var tail = string.Join('\n', (result.Stdout + "\n" + result.Stderr).Split('\n').Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(10));
            throw new BenchmarkException($"dotnet {verb} {project} failed (exit {result.ExitCode}){(tail.Length > 0 ? ":\n" + tail : "")}");
        }

        // An incremental publish that changed nothing keeps the old time stamp; mark the product fresh.
        File.SetLastWriteTimeUtc(productPath, DateTime.UtcNow);
        Progress.Line($"{verb}: done in {clock.Elapsed.TotalSeconds:0} s");
        return productPath;
    }

    private static bool IsFresh(string productPath, string[] sourceFolders)
    {
        if (!File.Exists(productPath))
        {
            return false;
        }

        var built = File.GetLastWriteTimeUtc(productPath);
        var sources = sourceFolders
            .Select(f => Path.Combine(Root, f))
            .Where(Directory.Exists)
            .SelectMany(f => Directory.EnumerateFiles(f, "*", SearchOption.AllDirectories))
            .Where(p => !p.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Concat(new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" }.Select(f => Path.Combine(Root, f)).Where(File.Exists));
        return sources.All(s => File.GetLastWriteTimeUtc(s) < built);
    }
}
