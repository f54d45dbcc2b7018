using OnceHub.LocalDelivery;

namespace OnceHub.Contracts.Cli.Triggering;

/// <summary>The local account: this process sends attempt 1 and, when following, the retries.</summary>
internal sealed class LocalTriggerTarget(string folder, LocalDeliveryOptions options) : ITriggerTarget
{
    private readonly LocalDeliverer _deliverer = LocalDeliverer.OpenFolder(folder, options);

    public async Task<FanOutJson> TriggerAsync(string eventType, IReadOnlyList<PayloadOverride> overrides, CancellationToken ct) =>
        FanOutJson.From(await _deliverer.TriggerAsync(eventType, overrides, ct));

    public async Task<EventStateJson> FollowAsync(string eventId, TextWriter output, CancellationToken ct)
    {
        var pending = _deliverer.Store.PendingCount(eventId);
        if (pending > 0)
        {
            await output.WriteLineAsync($"following {eventId}: {pending} deliveries pending ({_deliverer.Options.Time}); Ctrl+C leaves them pending");
        }
        await _deliverer.RunAsync(eventId, ct);
        return EventStateJson.From(eventId, _deliverer.Store.Deliveries(eventId));
    }

    public void Dispose() => _deliverer.Dispose();
}
