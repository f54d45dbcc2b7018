namespace OnceHub.Contracts.Delivery;

/// <summary>How one HTTP attempt ended.</summary>
public enum AttemptOutcome
{
    /// <summary>The receiver answered 2xx.</summary>
    Accepted,
    /// <summary>The receiver answered, with a non-2xx status.</summary>
    Refused,
    /// <summary>No complete answer within the per-attempt timeout.</summary>
    TimedOut,
    /// <summary>No connection, or it broke before an answer.</summary>
    ConnectionFailed,
    /// <summary>Not finished: the caller's run was canceled (e.g. its deadline passed).</summary>
    Canceled,
}

/// <summary>One HTTP attempt: what came back and how long it took in real time.</summary>
public sealed record AttemptResult(AttemptOutcome Outcome, int? StatusCode, TimeSpan Elapsed, string? Error = null)
{
    public bool IsAccepted => Outcome == AttemptOutcome.Accepted;

    /// <summary>Short human text, e.g. "200", "503", "timeout", "connection failed: ...".</summary>
    public string Describe() => Outcome switch
    {
        AttemptOutcome.Accepted or AttemptOutcome.Refused => StatusCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?",
        AttemptOutcome.TimedOut => "timeout",
        AttemptOutcome.Canceled => "canceled",
        _ => "connection failed" + (Error is null ? "" : ": " + Error),
    };
}

/// <summary>An attempt within a scheduled delivery, with its place on the (virtual) schedule.</summary>
public sealed record ScheduledAttempt(int Attempt, TimeSpan Offset, AttemptResult Result);

/// <summary>A delivery retried on <see cref="RetrySchedule"/>: every attempt made and where it got through.</summary>
public sealed record DeliveryResult(IReadOnlyList<ScheduledAttempt> Attempts)
{
    /// <summary>The attempt that got a 2xx, if any.</summary>
    public ScheduledAttempt? AcceptedAttempt => Attempts.FirstOrDefault(a => a.Result.IsAccepted);

    public bool Delivered => AcceptedAttempt is not null;
}
