using System.Globalization;
using System.Text;

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
/// <param name="Outcome">How it ended.</param>
/// <param name="StatusCode">The answer's status, when there was one.</param>
/// <param name="Elapsed">Real time from sending to the end of the answer (or the failure).</param>
/// <param name="Error">For a failed connection, what happened in words (e.g. "connection refused").</param>
/// <param name="Headers">The answer's status line and headers, for verbose output.</param>
/// <param name="Body">The first <see cref="AttemptResult.BodyExcerptBytes"/> bytes of the answer's body, printable.</param>
public sealed record AttemptResult(AttemptOutcome Outcome, int? StatusCode, TimeSpan Elapsed, string? Error = null, string? Body = null,
    string? Headers = null)
{
    /// <summary>How much of an answer's body is kept as evidence.</summary>
    public const int BodyExcerptBytes = 200;

    public bool IsAccepted => Outcome == AttemptOutcome.Accepted;

    /// <summary>True when the receiver answered at all (any status), within the timeout.</summary>
    public bool Answered => Outcome is AttemptOutcome.Accepted or AttemptOutcome.Refused;

    /// <summary>Short text for a table cell, e.g. "200", "503", "timeout", "connection refused".</summary>
    public string Describe() => Outcome switch
    {
        AttemptOutcome.Accepted or AttemptOutcome.Refused => StatusCode?.ToString(CultureInfo.InvariantCulture) ?? "?",
        AttemptOutcome.TimedOut => "timeout",
        AttemptOutcome.Canceled => "canceled",
        _ => Error ?? "connection failed",
    };

    /// <summary>A few characters for a table cell: the status, "timeout", "no answer" or "canceled".</summary>
    public string Short() => Outcome == AttemptOutcome.ConnectionFailed ? "no answer" : Describe();

    /// <summary>The whole evidence on one line: status or failure, time, and what the receiver said.</summary>
    public string Evidence()
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{Describe()} in {Elapsed.TotalMilliseconds:0} ms");
        if (Outcome == AttemptOutcome.TimedOut && Error is not null)
        {
            text += $" ({Error})";
        }
        return string.IsNullOrEmpty(Body) ? text : $"{text}: {Body}";
    }

    /// <summary>Up to <see cref="BodyExcerptBytes"/> bytes as one line of text, control characters escaped.</summary>
    public static string Excerpt(ReadOnlySpan<byte> bytes, bool more)
    {
        var text = Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, BodyExcerptBytes)]);
        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (c == '\uFFFD' || !char.IsControl(c))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append(c switch { '\n' => "\\n", '\r' => "\\r", '\t' => "\\t", _ => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}") });
            }
        }
        if (more || bytes.Length > BodyExcerptBytes)
        {
            sb.Append('…');
        }
        return sb.ToString();
    }
}

/// <summary>An attempt within a scheduled delivery, with its place on the (virtual) schedule.</summary>
public sealed record ScheduledAttempt(int Attempt, TimeSpan Offset, AttemptResult Result);

/// <summary>A delivery retried on <see cref="RetrySchedule"/>: every attempt made and where it got through.</summary>
public sealed record DeliveryResult(IReadOnlyList<ScheduledAttempt> Attempts)
{
    /// <summary>The attempt that got a 2xx, if any.</summary>
    public ScheduledAttempt? AcceptedAttempt => Attempts.FirstOrDefault(a => a.Result.IsAccepted);

    public bool Delivered => AcceptedAttempt is not null;

    /// <summary>
    /// Every attempt of the schedule was made and failed: OnceHub gives up on the event and disables
    /// the webhook, so later events are not delivered either until it is re-created or re-enabled.
    /// </summary>
    public bool WindowExhausted => !Delivered && Attempts.Count >= RetrySchedule.AttemptCount;
}
