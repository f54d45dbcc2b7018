namespace OnceHub.Contracts;

/// <summary>When an outage of a given length ends for a delivery: the first attempt after it, or lost.</summary>
/// <param name="Lost">True when every attempt falls inside the outage: OnceHub gives up on the event.</param>
/// <param name="Attempt">1-based attempt that first lands after the outage (0 when lost).</param>
/// <param name="Offset">That attempt's offset from the first attempt.</param>
public readonly record struct OutageOutcome(bool Lost, int Attempt, TimeSpan Offset);

/// <summary>
/// OnceHub's retry schedule for a failed delivery, the one definition everything else reads: retry
/// after 35 s, then 3 min later, then 72 min later, then every 6 h (the cap), for 72 h from the first
/// attempt. That gives 15 attempts at offsets 0, 35, 215, 4535, then 4535 + 21600·k s (k = 1..11).
/// </summary>
public static class RetrySchedule
{
    /// <summary>The growing waits after each failure; once exhausted the last one (the cap) repeats.</summary>
    public static IReadOnlyList<TimeSpan> Backoff { get; } =
        [TimeSpan.FromSeconds(35), TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(72), TimeSpan.FromHours(6)];

    /// <summary>No attempt is made later than this after the first one.</summary>
    public static TimeSpan Window { get; } = TimeSpan.FromHours(72);

    /// <summary>Offset of every attempt from the first; index 0 is attempt 1 at zero.</summary>
    public static IReadOnlyList<TimeSpan> Offsets { get; } = BuildOffsets();

    public static int AttemptCount => Offsets.Count;

    /// <summary>The wait before attempt <paramref name="attempt"/> (2..<see cref="AttemptCount"/>).</summary>
    public static TimeSpan DelayBefore(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(attempt, AttemptCount);
        return Offsets[attempt - 1] - Offsets[attempt - 2];
    }

    /// <summary>
    /// For a receiver down from the first attempt for <paramref name="outage"/>, the first attempt that
    /// lands strictly after the outage. An attempt at the very moment the outage ends counts as inside it,
    /// so the answer never promises more than the schedule gives. No outage (zero) means attempt 1.
    /// </summary>
    public static OutageOutcome ForOutage(TimeSpan outage)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outage, TimeSpan.Zero);
        if (outage == TimeSpan.Zero)
        {
            return new OutageOutcome(false, 1, TimeSpan.Zero);
        }
        for (var i = 0; i < Offsets.Count; i++)
        {
            if (Offsets[i] > outage)
            {
                return new OutageOutcome(false, i + 1, Offsets[i]);
            }
        }
        return new OutageOutcome(true, 0, TimeSpan.Zero);
    }

    private static List<TimeSpan> BuildOffsets()
    {
        var offsets = new List<TimeSpan> { TimeSpan.Zero };
        for (var i = 0; ; i++)
        {
            var next = offsets[^1] + Backoff[Math.Min(i, Backoff.Count - 1)];
            if (next > Window)
            {
                return offsets;
            }
            offsets.Add(next);
        }
    }
}
