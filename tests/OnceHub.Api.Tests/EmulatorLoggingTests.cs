using System.Diagnostics;

namespace OnceHub.Api.Tests;

/// <summary>The emulator process's stderr: warnings only by default, ASP.NET Core's request lines with --verbose.</summary>
public sealed class EmulatorLoggingTests
{
    private const string Key = "logging-key-7c1d22";

    [Fact]
    public async Task Request_lines_are_logged_only_with_verbose()
    {
        var quiet = await RequestThenWarnAsync([]);
        var verbose = await RequestThenWarnAsync(["--verbose"]);

        Assert.DoesNotContain(quiet, l => l.Contains("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.Contains(verbose, l => l.Contains("Microsoft.AspNetCore.Hosting.Diagnostics", StringComparison.Ordinal)
            && l.Contains("GET", StringComparison.Ordinal) && l.Contains("/v2/webhooks", StringComparison.Ordinal));
    }

    /// <summary>
    /// A list, then a create the emulator warns about; returns stderr once that warning is in, by which time the
    /// list's request lines, logged before it, are in too.
    /// </summary>
    private static async Task<List<string>> RequestThenWarnAsync(string[] flags)
    {
        using var process = EmulatorProcess.StartReadingStderr(["--port", "0", "--api-key", Key, "--no-rate-limits", .. flags], out var stderr);
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            using var client = OnceHubClient.Create(new OnceHubClientOptions { BaseUrl = new Uri(line!), ApiKey = Key });
            await client.ListAsync();
            var created = await client.CreateAsync(new WebhookRequest("seeded", "https://h.example.com/b", ["conversation.reached_out"]));
            var deadline = Stopwatch.StartNew();
            while (!stderr.Any(l => l.Contains(created.Id, StringComparison.Ordinal)) && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(20);
            }
            Assert.True(stderr.Any(l => l.Contains(created.Id, StringComparison.Ordinal)), "no warning on stderr: " + string.Join("\n", stderr));
            return [.. stderr];
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }
}
