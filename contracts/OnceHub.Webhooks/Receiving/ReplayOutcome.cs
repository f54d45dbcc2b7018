namespace OnceHub.Webhooks;

/// <summary>The outcome of replaying one quarantine entry.</summary>
public enum ReplayOutcome
{
    /// <summary>The handler succeeded; the entry is marked replayed.</summary>
    Replayed,
    NotFound,
    AlreadyReplayed,
    /// <summary>The body is still not strict JSON with a usable id and type: nothing to hand over.</summary>
    Unusable,
    /// <summary>The handler failed again; the entry stays in quarantine.</summary>
    HandlerFailed,
}
