using Microsoft.Extensions.DependencyInjection;
using OnceHub.TestSupport;

namespace OnceHub.Webhooks.Tests;

public sealed class RetentionTests
{
    [Fact]
    public async Task Settled_ids_past_the_retention_are_forgotten_in_the_background_while_recent_ones_and_the_quarantine_stay()
    {
        using var store = new InMemoryEventStore();
        var now = DateTimeOffset.UtcNow;
        // more than two purge batches, so the purge has to go on after a full one
        var old = SettledEventPurge.BatchSize * 2 + 100;
        for (var i = 0; i < old; i++)
        {
            await store.SettleAsync($"EVNT-OLD{i}", "booking.scheduled", SettledAs.Processed, now.AddDays(-31).AddSeconds(i));
        }
        await store.SettleAsync("EVNT-RECENT", "booking.scheduled", SettledAs.Processed, now.AddDays(-29));
        var entry = await store.QuarantineAsync("EVNT-Q", "booking.scheduled", "handler failed", new byte[] { 1 }, now.AddDays(-90));

        await using var host = await LibraryHost.StartAsync(new Dictionary<string, string?>
        {
            ["OnceHub:Webhooks:Secrets:0"] = "retention-test-secret",
            ["OnceHub:Webhooks:SettledRetentionDays"] = "30",
        }, services: s => s.AddSingleton<IEventStore>(store));

        Assert.True(await Eventually.HoldsWithinAsync(() => store.GetSettledAsync($"EVNT-OLD{old - 1}").Result is null, TimeSpan.FromSeconds(10)),
            "the newest of the old ids was still remembered after 10 s");
        for (var i = 0; i < old; i += 97)
        {
            Assert.Null(await store.GetSettledAsync($"EVNT-OLD{i}"));
        }
        Assert.Equal(SettledAs.Processed, await store.GetSettledAsync("EVNT-RECENT"));
        Assert.NotNull(await store.GetQuarantinedAsync(entry));
    }
}
