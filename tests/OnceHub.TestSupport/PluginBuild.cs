using System.Diagnostics;

namespace OnceHub.TestSupport;

/// <summary>
/// Publishes the plugin once per test run, with the README's command, to the folder Pulumi.yaml loads
/// it from; skipped when the binary is newer than every source file it is built from and carries this
/// build's version (scripts/plugin-archive.sh publishes the linux-amd64 plugin the same way).
/// </summary>
public sealed class PluginBuild
{
    public const string BinaryName = "pulumi-resource-oncehub";

    // Everything the published binary is compiled from.
    private static readonly string[] SourceFolders =
        ["infra/OnceHub.Provider", "infra/OnceHub.Api", "infra/OnceHub.Account", "contracts/OnceHub.Events"];

    private static readonly string[] RootFiles = ["Directory.Build.props", "Directory.Packages.props", "global.json"];

    public PluginBuild()
    {
        RepoRoot = Repository.Root;
        PluginFolder = Path.Combine(RepoRoot, "artifacts", "plugin");
        BinaryPath = Path.Combine(PluginFolder, OperatingSystem.IsWindows() ? BinaryName + ".exe" : BinaryName);
        VersionStamp = Path.Combine(RepoRoot, "artifacts", "plugin.version");
        if (!IsFresh())
        {
            Publish();
        }
    }

    public string RepoRoot { get; }

    public string PluginFolder { get; }

    public string BinaryPath { get; }

    /// <summary>The version the plugin in <see cref="PluginFolder"/> was published with (a commit changes it, not the sources).</summary>
    public string VersionStamp { get; }

    private bool IsFresh()
    {
        if (!File.Exists(BinaryPath) || !File.Exists(VersionStamp) || File.ReadAllText(VersionStamp).Trim() != BuildStamp.SemVer)
        {
            return false;
        }

        var built = File.GetLastWriteTimeUtc(BinaryPath);
        var sources = SourceFolders
            .SelectMany(f => Directory.EnumerateFiles(Path.Combine(RepoRoot, f), "*", SearchOption.AllDirectories))
            .Where(p => !p.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Concat(RootFiles.Select(f => Path.Combine(RepoRoot, f)).Where(File.Exists));
        return sources.All(s => File.GetLastWriteTimeUtc(s) < built);
    }

    /// <summary>False when the plugin was published framework-dependent (its managed dll sits beside it).</summary>
    public bool NativeAot => !File.Exists(Path.Combine(PluginFolder, BinaryName + ".dll"));

    private void Publish()
    {
        // No leftovers from a publish of the other kind.
        if (Directory.Exists(PluginFolder))
        {
            Directory.Delete(PluginFolder, recursive: true);
        }

        var started = DateTime.UtcNow;
        var (code, log) = RunPublish();
        if (code != 0 && MissingNativeToolchain(log))
        {
            // Native AOT needs a C toolchain (clang, zlib) beyond the .NET SDK; without it the same
            // plugin is published framework-dependent, which the engine starts the same way.
            (code, log) = RunPublish("-p:PublishAot=false");
        }

        if (code != 0 || !File.Exists(BinaryPath))
        {
            throw new InvalidOperationException($"dotnet publish of the plugin failed ({code}):\n{log}");
        }

        // A publish that changed nothing keeps the old timestamp; mark it built from the sources as
        // they were when it started, so a source saved during the publish still counts as newer.
        File.SetLastWriteTimeUtc(BinaryPath, started);
        File.WriteAllText(VersionStamp, BuildStamp.SemVer + "\n");
    }

    private static bool MissingNativeToolchain(string log) =>
        log.Contains("nativeaot-prerequisites", StringComparison.OrdinalIgnoreCase)
        || log.Contains("Platform linker", StringComparison.OrdinalIgnoreCase)
        || log.Contains("Symbol stripping tool", StringComparison.OrdinalIgnoreCase);

    private (int ExitCode, string Log) RunPublish(params string[] extra)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "publish", "infra/OnceHub.Provider", "-c", "Release", "-o", PluginFolder, "-nologo" }.Concat(extra))
        {
            start.ArgumentList.Add(arg);
        }

        // The test host's MSBuild settings must not leak into a separate build.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet publish");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet publish of the plugin did not finish in 15 minutes");
        }

        return (process.ExitCode, stdout.Result + "\n" + stderr.Result);
    }
}
