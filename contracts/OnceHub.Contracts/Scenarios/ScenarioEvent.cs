using System.Text.Json.Nodes;

namespace OnceHub.Contracts.Scenarios;

/// <summary>One event a scenario sends: its type, when it happened, and the whole object as it then was.</summary>
/// <param name="Step">The 1-based number of the step among all of the scenario's steps.</param>
/// <param name="EventType">The specific event type sent.</param>
/// <param name="Time">When the step happened: the data's <c>last_updated_time</c> and the envelope's <c>creation_time</c>.</param>
/// <param name="Data">The object after the step.</param>
public sealed record ScenarioEvent(int Step, string EventType, DateTimeOffset Time, JsonObject Data)
{
    public string TimeText => LifecycleScenario.FormatTime(Time);
}
