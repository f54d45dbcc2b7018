using System.Reflection;
using OnceHub.TestSupport;

namespace OnceHub.Contracts.Tests;

/// <summary>The CLI as users install it (scripts/install-tool.sh): packed as a .NET tool, installed from a folder feed into a tool path, run as <c>oncehub</c>.</summary>
public sealed class ToolPackageTests
{
    [Fact]
    public void The_tool_installs_from_a_folder_feed_and_oncehub_verify_passes_against_the_bundled_receiver()
    {
        var work = Directory.CreateTempSubdirectory("oncehub-tool-").FullName;
        try
        {
            var tools = Path.Combine(work, "tools");
            // The CLI is already built in this run's configuration (this project references it): the script packs that build.
            var configuration = typeof(ToolPackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            DotnetCommand.RunProgram("bash", Repository.Root, null, "scripts/install-tool.sh", tools, "-c", configuration, "--no-build");
            Assert.True(Directory.Exists(Path.Combine(tools, ".store", "oncehub.cli", BuildStamp.SemVer)),
                $"OnceHub.Cli {BuildStamp.SemVer} is not in the tool path's store");
            var oncehub = Path.Combine(tools, OperatingSystem.IsWindows() ? "oncehub.exe" : "oncehub");

            Assert.Equal(BuildStamp.Informational, DotnetCommand.RunProgram(oncehub, work, null, "--version").Trim());
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
