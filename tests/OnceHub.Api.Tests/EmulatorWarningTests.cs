namespace OnceHub.Api.Tests;

/// <summary>What the emulator process says on stderr about what it accepts but OnceHub may not.</summary>
public sealed class EmulatorWarningTests
{
    private const string Key = "warning-key-2f9e01";

    [Fact]
    public async Task A_webhook_for_conversation_reached_out_is_created_with_a_warning_that_the_current_reference_does_not_list_it()
    {
        using var process = EmulatorProcess.StartReadingStderr(["--port", "0", "--api-key", Key, "--no-rate-limits"], out var stderr);
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            using var client = OnceHubClient.Create(new OnceHubClientOptions { BaseUrl = new Uri(line!), ApiKey = Key });
            await client.CreateAsync(new WebhookRequest("documented", "https://h.example.com/a", ["conversation", "booking.scheduled"]));
            var created = await client.CreateAsync(new WebhookRequest("seeded", "https://h.example.com/b", ["conversation.reached_out"]));

            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!stderr.Any(l => l.Contains(created.Id, StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.True(stderr.Any(l => l.Contains(created.Id, StringComparison.Ordinal)), "no warning naming the webhook on stderr: " + string.Join("\n", stderr));
            var warning = Assert.Single(stderr, l => l.Contains("reference", StringComparison.Ordinal));
            Assert.Contains("'conversation.reached_out' is not listed in OnceHub's current API reference", warning, StringComparison.Ordinal);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }
}
