namespace OnceHub.Webhooks;

/// <summary>The answer to one delivery.</summary>
public sealed record ReceiveResult(ReceiveOutcome Outcome, int StatusCode, string Message);
