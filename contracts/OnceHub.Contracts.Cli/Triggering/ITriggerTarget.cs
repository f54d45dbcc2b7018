using OnceHub.LocalDelivery;

namespace OnceHub.Contracts.Cli.Triggering;

/// <summary>Where <c>trigger</c> hands an event: the local account's deliverer, or a running emulator.</summary>
internal interface ITriggerTarget : IDisposable
{
    /// <summary>Builds the event and sends attempt 1 to every subscribed webhook.</summary>
    /// <exception cref="TriggerException">The target refused or could not be reached.</exception>
    Task<FanOutJson> TriggerAsync(string eventType, IReadOnlyList<PayloadOverride> overrides, CancellationToken ct);

    /// <summary>Waits until every delivery of the event has ended (or <paramref name="ct"/> fires) and returns their state.</summary>
    Task<EventStateJson> FollowAsync(string eventId, TextWriter output, CancellationToken ct);
}
