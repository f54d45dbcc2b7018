using OnceHub.Contracts;

namespace OnceHub.LocalDelivery;

/// <summary>Where a delivery stands on <see cref="RetrySchedule"/>: attempts are numbered 1..15 by their place on it.</summary>
internal static class ScheduleCursor
{
    /// <summary>
    /// The attempt to send now. Normally <paramref name="nextAttempt"/>; when later attempts are already due too
    /// (the deliverer was stopped or killed through them), the latest due one: an overdue attempt is sent once,
    /// not once per missed attempt, and the window still counts from attempt 1.
    /// </summary>
    public static int AttemptToSend(int nextAttempt, TimeSpan scheduleElapsed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nextAttempt, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nextAttempt, RetrySchedule.AttemptCount);
        if (nextAttempt == 1)
        {
            // A new delivery's first send is attempt 1 however long its sender took to get to it.
            return 1;
        }
        var attempt = nextAttempt;
        // Offsets[attempt] is the offset of the attempt after it.
        while (attempt < RetrySchedule.AttemptCount && RetrySchedule.Offsets[attempt] <= scheduleElapsed)
        {
            attempt++;
        }
        return attempt;
    }

    public static TimeSpan OffsetOf(int attempt) => RetrySchedule.Offsets[attempt - 1];

    /// <summary>True when no attempt follows <paramref name="attempt"/> within the window.</summary>
    public static bool IsLast(int attempt) => attempt >= RetrySchedule.AttemptCount;
}
