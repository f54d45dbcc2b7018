using System.Text.Json.Nodes;

namespace OnceHub.Contracts.Scenarios;

/// <summary>
/// One step of a lifecycle scenario: <see cref="After"/> the previous step, the object's fields in
/// <see cref="Changes"/> take new values and, when <see cref="Event"/> is set, OnceHub sends that event.
/// </summary>
/// <param name="Event">The event type sent for this step; null for a change OnceHub sends nothing for (a request awaiting approval).</param>
/// <param name="After">Time since the previous step; zero for the first.</param>
/// <param name="Changes">Top-level data fields and their new values, which may refer to the object as it was (<c>${field}</c>).</param>
public sealed record ScenarioStep(string? Event, TimeSpan After, JsonObject Changes)
{
    /// <summary>How the step reads in a list: its event type, or the status it leaves and that no event is sent.</summary>
    public string Label => Event ?? $"({Changes["status"]?.GetValue<string>() ?? "change"}, no event)";
}
