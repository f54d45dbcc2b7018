using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace OnceHub.Webhooks;

/// <summary>
/// Healthy while the event store answers a read. An unreadable store means every delivery would fail
/// (500, retried by OnceHub), so a load balancer should know.
/// </summary>
public sealed class OnceHubWebhookStoreHealthCheck(IEventStore store) : IHealthCheck
{
    /// <summary>The name the check is registered under.</summary>
    public const string Name = "oncehub-webhooks-store";

    // A well-formed id that OnceHub never sends (its ids are not this long and not this word): only a read.
    private const string ProbeId = "EVNT-healthprobe0000000000000000000000";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.GetSettledAsync(ProbeId).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"{store.GetType().Name} answers");
        }
        catch (Exception ex)
        {
            // The message names the store and the failure; a store never puts a secret in an exception.
            return HealthCheckResult.Unhealthy($"{store.GetType().Name} does not answer: {ex.Message}", ex);
        }
    }
}
