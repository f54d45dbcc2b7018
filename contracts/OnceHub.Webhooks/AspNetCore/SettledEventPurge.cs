using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OnceHub.Webhooks;

/// <summary>
/// Forgets settled event ids and object times (<see cref="ReceivedEvent.IsStale"/>) older than
/// <see cref="OnceHubWebhookOptions.SettledRetention"/>, at start and then every hour, so the store does not grow
/// with every id it ever saw. It works in small batches with a pause
/// between them: each batch is one short transaction, and deliveries queued meanwhile go first. The quarantine is
/// never purged; its entries stay until replayed or deleted.
/// </summary>
internal sealed class SettledEventPurge(IEventStore store, IOptions<OnceHubWebhookOptions> options, ILogger<SettledEventPurge> logger)
    : BackgroundService
{
    internal const int BatchSize = 500;
    private static readonly TimeSpan Every = TimeSpan.FromHours(1);
    private static readonly TimeSpan BetweenBatches = TimeSpan.FromMilliseconds(50);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var clock = options.Value.Clock ?? TimeProvider.System;
        var retention = options.Value.SettledRetention;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await PurgeAsync(clock.GetUtcNow() - retention, clock, stoppingToken).ConfigureAwait(false);
                await Task.Delay(Every, clock, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The app is stopping; what is left is purged at the next start.
        }
    }

    private async Task PurgeAsync(DateTimeOffset settledBefore, TimeProvider clock, CancellationToken stoppingToken)
    {
        var forgotten = 0;
        try
        {
            int batch;
            do
            {
                batch = await store.PurgeSettledAsync(settledBefore, BatchSize).ConfigureAwait(false);
                forgotten += batch;
                if (batch == BatchSize)
                {
                    await Task.Delay(BetweenBatches, clock, stoppingToken).ConfigureAwait(false);
                }
            }
            while (batch == BatchSize);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not fatal: deliveries do not depend on it, and the next round tries again.
            logger.LogWarning(ex, "Purging settled event ids failed; retrying in {Every}", Every);
        }
        if (forgotten > 0)
        {
            logger.LogInformation("Forgot {Count} event ids and object times settled before {SettledBefore:O}", forgotten, settledBefore);
        }
    }
}
