using System.Diagnostics;
using Xunit.Abstractions;

namespace OnceHub.Api.Tests;

/// <summary>Emulator processes started together on one account folder: each waits for the stores' locks instead of failing.</summary>
public sealed class SharedAccountStartTests(ITestOutputHelper output)
{
    private const string Key = "shared-account-key-7d41c0";
    private const int Processes = 8;

    [Fact]
    public async Task Eight_emulators_started_at_once_on_one_new_account_all_start_and_serve()
    {
        var account = TempDir.Create();
        var processes = new List<Process>();
        try
        {
            for (var i = 0; i < Processes; i++)
            {
                processes.Add(EmulatorProcess.Start(["--port", "0", "--api-key", Key, "--data", account, "--no-rate-limits"]));
            }

            var outcomes = await Task.WhenAll(processes.Select(StartOutcome));
            foreach (var outcome in outcomes)
            {
                output.WriteLine(outcome);
            }

            Assert.All(outcomes, o => Assert.Matches(@"^http://127\.0\.0\.1:\d+/v2$", o));
            foreach (var baseUrl in outcomes)
            {
                using var client = OnceHubClient.Create(new OnceHubClientOptions { BaseUrl = new Uri(baseUrl), ApiKey = Key });
                Assert.Empty(await client.ListAsync());
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    process.Kill();
                }

                await process.WaitForExitAsync();
                process.Dispose();
            }

            TempDir.Delete(account);
        }
    }

    /// <summary>The base URL line, or what the process said on stderr when it ended without one.</summary>
    private static async Task<string> StartOutcome(Process process)
    {
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is not null)
        {
            return line;
        }

        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return $"exited {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}";
    }
}
