using System.Diagnostics;

namespace OnceHub.TestSupport;

/// <summary>
/// Publishes the plugin once per test run with scripts/plugin-publish.sh, as a release does, to the folder
/// Pulumi.yaml loads it from; skipped when the binary is newer than every source file it is built from and
/// carries this build's version.
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
        var started = DateTime.UtcNow;
        var (code, log) = RunPublish();
        if (code != 0 || !File.Exists(BinaryPath))
        {
            throw new InvalidOperationException($"dotnet publish of the plugin failed ({code}):\n{log}");
        }

        // A publish that changed nothing keeps the old timestamp; mark it built from the sources as
        // they were when it started, so a source saved during the publish still counts as newer.
        File.SetLastWriteTimeUtc(BinaryPath, started);
    }

    private (int ExitCode, string Log) RunPublish()
    {
        var start = DotnetCommand.StartInfo("bash", RepoRoot, ["scripts/plugin-publish.sh", BuildStamp.SemVer]);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start scripts/plugin-publish.sh");
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
