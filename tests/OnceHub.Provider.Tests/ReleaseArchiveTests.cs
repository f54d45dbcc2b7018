using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using OnceHub.Provider.Tests.Harness;
using OnceHub.Provider.Tests.Lifecycle;
using OnceHub.TestSupport;
using Pulumirpc;
using Xunit.Abstractions;

namespace OnceHub.Provider.Tests;

/// <summary>
/// The plugin as a release ships it (scripts/plugin-archive.sh): archives named as Pulumi downloads them, each
/// holding the executable of its platform, and the linux-amd64 one installed and driven as the engine would.
/// </summary>
[Collection(PluginCollection.Name)]
public sealed partial class ReleaseArchiveTests(PluginBuild build, ITestOutputHelper output)
{
    private static readonly string[] Targets = ["linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64", "windows-amd64"];

    private string Release => Path.Combine(build.RepoRoot, "artifacts", "release");

    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task The_linux_amd64_archive_installed_in_a_plugin_folder_runs_the_whole_lifecycle()
    {
        var archive = LinuxArchive();
        var home = Directory.CreateTempSubdirectory("oncehub-pulumi-home-").FullName;
        try
        {
            // Where `pulumi plugin install` puts it: $PULUMI_HOME/plugins/resource-<name>-v<version>/
            var folder = Path.Combine(home, "plugins", $"resource-oncehub-v{BuildStamp.SemVer}");
            Directory.CreateDirectory(folder);
            await using (var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress))
            {
                await TarFile.ExtractToDirectoryAsync(gzip, folder, overwriteFiles: false);
            }

            var binary = Path.Combine(folder, PluginBuild.BinaryName);
            Assert.True(File.GetUnixFileMode(binary).HasFlag(UnixFileMode.UserExecute), "the plugin is not executable after unpacking");
            var project = Directory.CreateTempSubdirectory("oncehub-project-").FullName;
            var environment = new Dictionary<string, string> { ["PULUMI_HOME"] = home };

            await using (var session = await ProviderSession.StartProcessAsync(binary, project, environment))
            {
                var info = await session.Client.GetPluginInfoAsync(new Empty());
                Assert.Equal(BuildStamp.SemVer, info.Version);
                var schema = JsonNode.Parse((await session.Client.GetSchemaAsync(new GetSchemaRequest())).Schema)!;
                Assert.Equal(BuildStamp.PluginDownloadUrl, (string?)schema["pluginDownloadURL"]);
                Assert.Equal(BuildStamp.SemVer, (string?)schema["version"]);
            }

            var whole = LifecycleTests.Cases.Single(c => c.Name == "whole life against the emulator");
            await using var run = await LifecycleRun.StartAsync(whole.Account, output,
                workingDirectory => ProviderSession.StartProcessAsync(binary, workingDirectory ?? project, environment));
            foreach (var step in whole.Steps)
            {
                output.WriteLine($"step: {step}");
                await step.RunAsync(run);
            }

            Assert.All(run.Sensitive, s => Assert.DoesNotContain(s, run.Session.Log, StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public void Every_archive_holds_its_platforms_executable_and_the_license_and_is_in_the_checksums()
    {
        LinuxArchive();
        var sums = File.ReadAllLines(Path.Combine(Release, "SHA256SUMS"))
            .Select(l => l.Split("  ", 2)).ToDictionary(p => p[1], p => p[0]);
        var archives = Directory.EnumerateFiles(Release, $"pulumi-resource-oncehub-v{BuildStamp.SemVer}-*.tar.gz").Order(StringComparer.Ordinal).ToList();
        foreach (var archive in archives)
        {
            var name = Path.GetFileName(archive);
            var match = ArchiveName().Match(name);
            Assert.True(match.Success, $"{name} is not named pulumi-resource-oncehub-v<version>-<os>-<arch>.tar.gz");
            var target = match.Groups["target"].Value;
            Assert.Contains(target, Targets);
            Assert.True(sums.TryGetValue(name, out var sum), $"{name} is not in SHA256SUMS");
            Assert.Equal(sum, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(archive))));

            var entries = ReadArchive(archive);
            var binary = target.StartsWith("windows", StringComparison.Ordinal) ? PluginBuild.BinaryName + ".exe" : PluginBuild.BinaryName;
            Assert.Equal(new[] { binary, "LICENSE" }.Order(StringComparer.Ordinal), entries.Keys.Order(StringComparer.Ordinal));
            Assert.True(entries[binary].Mode.HasFlag(UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute),
                $"{binary} in {name} is not executable");
            Assert.Equal(target, ExecutableFormat(entries[binary].Head));
            if (target.StartsWith("darwin", StringComparison.Ordinal))
            {
                // macOS runs no arm64 code without a signature; the SDK signs the apphost ad hoc
                Assert.True(HasCodeSignature(entries[binary].Head), $"{binary} in {name} carries no code signature");
            }

            output.WriteLine($"{name}: {target}, {entries[binary].Length / 1024 / 1024} MiB");
        }
    }

    /// <summary>The os-arch an executable is built for, from its header: ELF, Mach-O or PE, and the machine field.</summary>
    internal static string ExecutableFormat(byte[] head)
    {
        if (head is [0x7F, (byte)'E', (byte)'L', (byte)'F', ..])
        {
            // e_machine of a little-endian ELF file
            return BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(18)) switch
            {
                0x3E => "linux-amd64",
                0xB7 => "linux-arm64",
                var m => $"linux-machine-{m:x}",
            };
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(head) == 0xFEEDFACF)
        {
            // 64-bit Mach-O: cputype follows the magic
            return BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(4)) switch
            {
                0x01000007 => "darwin-amd64",
                0x0100000C => "darwin-arm64",
                var c => $"darwin-cpu-{c:x}",
            };
        }

        if (head is [(byte)'M', (byte)'Z', ..])
        {
            var pe = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(0x3C));
            Assert.True(head.AsSpan(pe, 4).SequenceEqual("PE\0\0"u8), "MZ header without a PE signature");
            return BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(pe + 4)) switch
            {
                0x8664 => "windows-amd64",
                var m => $"windows-machine-{m:x}",
            };
        }

        return "unknown format";
    }

    /// <summary>Whether a 64-bit Mach-O file's load commands include LC_CODE_SIGNATURE.</summary>
    internal static bool HasCodeSignature(byte[] head)
    {
        const uint CodeSignature = 0x1D;
        var commands = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(16));
        var offset = 32;
        for (var i = 0; i < commands && offset + 8 <= head.Length; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(offset)) == CodeSignature)
            {
                return true;
            }

            offset += (int)BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(offset + 4));
        }

        return false;
    }

    private static Dictionary<string, (UnixFileMode Mode, long Length, byte[] Head)> ReadArchive(string archive)
    {
        var entries = new Dictionary<string, (UnixFileMode, long, byte[])>();
        using var gzip = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            Assert.Equal(TarEntryType.RegularFile, entry.EntryType);
            var head = new byte[64 * 1024]; // the headers and every Mach-O load command
            var read = entry.DataStream?.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) ?? 0;
            entries.Add(entry.Name, (entry.Mode, entry.Length, head[..read]));
        }

        return entries;
    }

    /// <summary>The linux-amd64 archive of this build: CI builds it before the tests; otherwise it is built here.</summary>
    private string LinuxArchive()
    {
        var archive = Path.Combine(Release, $"pulumi-resource-oncehub-v{BuildStamp.SemVer}-linux-amd64.tar.gz");
        if (!File.Exists(archive) || File.GetLastWriteTimeUtc(archive) < File.GetLastWriteTimeUtc(build.BinaryPath))
        {
            DotnetCommand.RunProgram("bash", build.RepoRoot, null, "scripts/plugin-archive.sh", "linux-amd64");
        }

        return archive;
    }

    [GeneratedRegex(@"^pulumi-resource-oncehub-v(?<version>\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)-(?<target>[a-z]+-[a-z0-9]+)\.tar\.gz$")]
    private static partial Regex ArchiveName();
}
