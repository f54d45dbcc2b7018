namespace OnceHub.Webhooks;

public sealed record ReplayResult(ReplayOutcome Outcome, string Message);
