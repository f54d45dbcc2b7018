namespace OnceHub.Contracts.Scenarios;

/// <summary>A scenario file that cannot be played; the message names the scenario, the step and the rule.</summary>
public sealed class ScenarioException(string message) : Exception(message);
