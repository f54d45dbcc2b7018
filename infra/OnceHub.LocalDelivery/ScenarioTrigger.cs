using OnceHub.Contracts.Scenarios;

namespace OnceHub.LocalDelivery;

/// <summary>One step's trigger: the event type, and the overrides that turn its sample into the step's payload.</summary>
public sealed record ScenarioRequest(ScenarioEvent Event, IReadOnlyList<PayloadOverride> Overrides);

/// <summary>
/// A lifecycle scenario as ordinary triggers, one per event: each replaces the sample's <c>data</c> with the object as
/// the step left it and dates the envelope at the step's time, then applies the user's <c>--set</c> overrides, so a
/// scenario goes through the same fan-out (local or the emulator's) as a single event.
/// </summary>
public static class ScenarioTrigger
{
    /// <summary>The requests of one run; every override is tried on every step first, so a bad one sends nothing.</summary>
    /// <exception cref="PayloadOverrideException">An override does not apply to a step's payload.</exception>
    public static IReadOnlyList<ScenarioRequest> Requests(LifecycleScenario scenario, IReadOnlyList<PayloadOverride> overrides, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(overrides);
        var requests = scenario.Play(now)
            .Select(e => new ScenarioRequest(e, [new PayloadOverride("creation_time", e.TimeText), new PayloadOverride("data", e.Data.ToJsonString()), .. overrides]))
            .ToList();
        foreach (var request in requests)
        {
            _ = EventFactory.Create(request.Event.EventType, request.Overrides, now);
        }
        return requests;
    }
}
