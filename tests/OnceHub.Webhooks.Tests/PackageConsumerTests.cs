using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using OnceHub.Contracts.Suite;
using OnceHub.TestSupport;

namespace OnceHub.Webhooks.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PackageCollection : ICollectionFixture<PackedLibrary>
{
    public const string Name = "package";
}

/// <summary>
/// Packs the library once per run with a unique prerelease version into a fresh folder, optimised as a release
/// is, so no package cache can serve an older build under the same version.
/// </summary>
public sealed class PackedLibrary : IDisposable
{
    public PackedLibrary()
    {
        Work = Directory.CreateTempSubdirectory("oncehub-webhooks-package-").FullName;
        Feed = Path.Combine(Work, "feed");
        Version = $"0.1.0-consumer.{DateTime.UtcNow:yyyyMMddHHmmss}.{Random.Shared.Next(1, 1_000_000)}";
        var project = Path.Combine(Repository.Root, "contracts", "OnceHub.Webhooks", "OnceHub.Webhooks.csproj");
        // Optimised as a release build, under a configuration of its own: the provider tests publish the plugin
        // in Release at the same time, and both would otherwise build the event catalog into the same folders.
        DotnetCommand.Run(Repository.Root, null, "pack", project, "-c", "PackageTest", "-p:Optimize=true", "-o", Feed, "-p:MinVerVersionOverride=" + Version);
        Package = Path.Combine(Feed, $"OnceHub.Webhooks.{Version}.nupkg");
        Symbols = Path.Combine(Feed, $"OnceHub.Webhooks.{Version}.snupkg");
    }

    public string Work { get; }

    public string Feed { get; }

    public string Version { get; }

    public string Package { get; }

    public string Symbols { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Work, recursive: true);
        }
        catch (IOException)
        {
            // a file still held by the stopped consumer: the temporary folder is left for the OS to clean
        }
    }
}

[Collection(PackageCollection.Name)]
public sealed class PackageConsumerTests(PackedLibrary packed)
{
    [Fact]
    public void The_package_holds_both_assemblies_their_docs_the_readme_the_license_and_its_symbols()
    {
        using var package = ZipFile.OpenRead(packed.Package);
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var expected in new[]
        {
            "README.md", "LICENSE", "lib/net10.0/OnceHub.Webhooks.dll", "lib/net10.0/OnceHub.Webhooks.xml",
            "lib/net10.0/OnceHub.Events.dll", "lib/net10.0/OnceHub.Events.xml",
        })
        {
            Assert.True(entries.Contains(expected), $"{expected} missing from the package: {string.Join(", ", entries)}");
        }
        Assert.DoesNotContain(entries, e => e.EndsWith(".pdb", StringComparison.Ordinal));

        var nuspec = XDocument.Load(package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal(packed.Version, metadata.Element(ns + "version")!.Value);
        Assert.Equal("expression", metadata.Element(ns + "license")!.Attribute("type")!.Value);
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        // source link: the commit the package was built from (present when built from a git clone)
        Assert.Matches("^[0-9a-f]{40}$", metadata.Element(ns + "repository")?.Attribute("commit")?.Value ?? "(no repository element)");
        // the event catalog ships inside; it must not appear as a package nobody publishes
        Assert.DoesNotContain(metadata.Descendants(ns + "dependency"), d => d.Attribute("id")!.Value.StartsWith("OnceHub", StringComparison.Ordinal));
        Assert.Contains("MapOnceHubWebhooks", new StreamReader(package.GetEntry("README.md")!.Open()).ReadToEnd(), StringComparison.Ordinal);
        Assert.Contains("MIT License", new StreamReader(package.GetEntry("LICENSE")!.Open()).ReadToEnd(), StringComparison.Ordinal);

        using var symbols = ZipFile.OpenRead(packed.Symbols);
        Assert.Equal(["lib/net10.0/OnceHub.Events.pdb", "lib/net10.0/OnceHub.Webhooks.pdb"],
            symbols.Entries.Select(e => e.FullName).Where(n => n.EndsWith(".pdb", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_app_that_references_the_package_passes_the_contract_suite()
    {
        // The consumer as checked in, copied so its bin/obj and packages stay out of the repository.
        var app = Path.Combine(packed.Work, "consumer");
        Directory.CreateDirectory(app);
        foreach (var file in new[] { "Consumer.csproj", "Program.cs", "Directory.Build.props", "Directory.Packages.props", "NuGet.config" })
        {
            File.Copy(Path.Combine(Repository.Root, "tests", "consumer", file), Path.Combine(app, file));
        }
        Directory.CreateDirectory(Path.Combine(app, "feed"));
        File.Copy(packed.Package, Path.Combine(app, "feed", Path.GetFileName(packed.Package)));
        var privatePackages = Path.Combine(packed.Work, "packages");
        // The package's own dependencies (NJsonSchema, SQLite) come from the machine's package folder when it
        // has them, so the test does not download them again; OnceHub.Webhooks exists only in feed/.
        var machinePackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = privatePackages };
        DotnetCommand.Run(app, environment, "build", "Consumer.csproj", "-c", "Release", "-p:OnceHubWebhooksVersion=" + packed.Version,
            "-p:RestoreAdditionalProjectSources=" + machinePackages);
        Assert.True(Directory.Exists(Path.Combine(privatePackages, "oncehub.webhooks", packed.Version)),
            "the package was not restored into the private packages folder");

        const string secret = "consumer-test-secret-5f1c0e";
        using var consumer = ConsumerProcess.Start(Path.Combine(app, "bin", "Release", "net10.0", "Consumer.dll"), new Dictionary<string, string>
        {
            ["OnceHub__Webhooks__Secrets"] = secret,
            ["OnceHub__Webhooks__DatabasePath"] = Path.Combine(packed.Work, "consumer.db"),
        });
        var baseUrl = await consumer.ListeningAsync(TimeSpan.FromSeconds(60));

        var report = await ContractSuite.RunAsync(new SuiteOptions { Target = new Uri(baseUrl, "/webhooks/oncehub"), Secret = secret });

        var failures = string.Join("\n", report.Checks.Where(c => !c.Passed).Select(c => $"{c.Event} {c.Check}: {c.Summary} {c.Detail}"));
        Assert.True(report.Passed, failures + "\n" + consumer.Output);
        Assert.True(report.CheckCount >= 12, $"only {report.CheckCount} checks ran");
        using var http = new HttpClient { BaseAddress = baseUrl };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        // every specific event type reached a handler at least once (the suite also sends duplicates)
        Assert.True(int.Parse(await http.GetStringAsync("/handled"), System.Globalization.CultureInfo.InvariantCulture) >= 12);
        Assert.True(File.Exists(Path.Combine(packed.Work, "consumer.db")), "the default store is a SQLite file");
    }
}

/// <summary>The consumer app as its own process, on a free loopback port; killed on dispose.</summary>
internal sealed partial class ConsumerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ConsumerProcess(Process process) => _process = process;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static ConsumerProcess Start(string dll, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        foreach (var arg in new[] { dll, "--urls", "http://127.0.0.1:0" })
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        start.Environment["Logging__Console__FormatterName"] = "simple";
        var consumer = new ConsumerProcess(new Process { StartInfo = start });
        consumer._process.OutputDataReceived += (_, e) => consumer.Line(e.Data);
        consumer._process.ErrorDataReceived += (_, e) => consumer.Line(e.Data);
        consumer._process.Start();
        consumer._process.BeginOutputReadLine();
        consumer._process.BeginErrorReadLine();
        return consumer;
    }

    public async Task<Uri> ListeningAsync(TimeSpan timeout)
    {
        try
        {
            return await _listening.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException("the consumer did not say where it listens:\n" + Output);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }

    private void Line(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups[1].Value));
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}
