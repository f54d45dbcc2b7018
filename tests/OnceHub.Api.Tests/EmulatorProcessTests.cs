using System.Reflection;

namespace OnceHub.Api.Tests;

/// <summary>The emulator as a process: its one output line, and its exit code for bad flags.</summary>
public sealed class EmulatorProcessTests
{
    [Fact]
    public async Task Bad_flags_exit_2_with_one_line_on_stderr()
    {
        using var process = EmulatorProcess.Start(["--port", "0", "--api-key", "k", "--rate-limit", "fast"]);
        var stderr = await process.StandardError.ReadToEndAsync();
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Equal("error: --rate-limit must be a positive number of requests per second (see --help)", stderr.TrimEnd());
        Assert.Empty(stdout);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_2()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        using var process = EmulatorProcess.Start(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--api-key", "k"]);
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        var line = Assert.Single(stderr.TrimEnd().Split('\n'));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--port 0 --bogus", "--bogus")] // unknown to System.CommandLine, whose own exit code for it is 1
    [InlineData("--port", "--port")] // a flag without its value
    public async Task System_CommandLine_parse_errors_exit_2_too(string args, string flag)
    {
        using var process = EmulatorProcess.Start(["--api-key", "k", .. args.Split(' ')]);
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Contains($"'{flag}'", stderr);
        Assert.Single(stderr.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task Help_and_version_exit_0_on_stdout()
    {
        // the build's version and commit, as stamped on this test assembly by the same build
        var version = typeof(EmulatorProcessTests).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        foreach (var (flag, expected) in new[] { ("--help", "--rate-limit"), ("--version", version + "\n") })
        {
            using var process = EmulatorProcess.Start([flag]);
            var stdout = await process.StandardOutput.ReadToEndAsync();
            await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.Equal(0, process.ExitCode);
            Assert.Contains(expected, stdout);
        }
    }

    [Fact]
    public async Task It_prints_its_base_url_and_serves_with_the_given_key()
    {
        const string key = "process-key-123abc";
        using var process = EmulatorProcess.Start(["--port", "0", "--api-key", key, "--allow-insecure-urls", "--no-rate-limits"]);
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Matches(@"^http://127\.0\.0\.1:\d+/v2$", line);
            using var client = OnceHubClient.Create(new OnceHubClientOptions { BaseUrl = new Uri(line!), ApiKey = key });
            var created = await client.CreateAsync(new WebhookRequest("local receiver", "http://127.0.0.1:7000/hook", ["booking"]));
            Assert.Equal("http://127.0.0.1:7000/hook", created.Url);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }

        Secrets.AssertAbsent(await process.StandardOutput.ReadToEndAsync(), key);
    }
}
