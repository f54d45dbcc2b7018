using System.Reflection;
using OnceHub.TestSupport;

namespace OnceHub.Contracts.Tests;

/// <summary>The CLI as users install it: packed as a .NET tool, installed from a folder feed into a tool path, run as <c>oncehub</c>.</summary>
public sealed class ToolPackageTests
{
    [Fact]
    public void The_tool_installs_from_a_folder_feed_and_oncehub_verify_passes_against_the_bundled_receiver()
    {
        var work = Directory.CreateTempSubdirectory("oncehub-tool-").FullName;
        try
        {
            var feed = Path.Combine(work, "feed");
            var tools = Path.Combine(work, "tools");
            // The CLI is already built in this run's configuration (this project references it): pack that build.
            var configuration = typeof(ToolPackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            DotnetCommand.Run(Repository.Root, null, "pack", "contracts/OnceHub.Contracts.Cli", "-c", configuration, "--no-build", "-o", feed);
            var package = $"OnceHub.Cli.{BuildVersion.SemVer}.nupkg";
            Assert.True(File.Exists(Path.Combine(feed, package)),
                $"{package} not in the feed: {string.Join(", ", Directory.EnumerateFiles(feed).Select(Path.GetFileName))}");

            // A private package folder: no cache can serve an earlier pack of the same version.
            var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work, "packages") };
            DotnetCommand.Run(work, environment, "tool", "install", "OnceHub.Cli", "--tool-path", tools, "--add-source", feed, "--version", BuildVersion.SemVer);
            var oncehub = Path.Combine(tools, OperatingSystem.IsWindows() ? "oncehub.exe" : "oncehub");

            Assert.Equal(BuildVersion.Informational, DotnetCommand.RunProgram(oncehub, work, null, "--version").Trim());
            var (code, stdout, stderr) = DotnetCommand.Start(oncehub, work, null, "verify");
            Assert.True(code == 0, $"oncehub verify exited {code}:\n{stdout}\n{stderr}");
            Assert.Matches(@"(?m)^PASS: \d+ checks, 0 failed", stdout);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
