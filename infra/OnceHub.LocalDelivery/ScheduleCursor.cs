using OnceHub.Contracts;

namespace OnceHub.LocalDelivery;

/// <summary>Where a delivery stands on <see cref="RetrySchedule"/>: attempts are numbered by their slot (1..15).</summary>
internal static class ScheduleCursor
{
    /// <summary>
    /// The slot to send now. Normally <paramref name="nextSlot"/>; when later slots are already due too (the
    /// deliverer was stopped or killed through them), the latest due slot: an overdue attempt is sent once,
    /// not once per missed slot, and the window still counts from attempt 1.
    /// </summary>
    public static int SlotToSend(int nextSlot, TimeSpan scheduleElapsed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nextSlot, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nextSlot, RetrySchedule.AttemptCount);
        if (nextSlot == 1)
        {
            // A new delivery's first send is attempt 1 however long its sender took to get to it.
            return 1;
        }
        var slot = nextSlot;
        // Offsets[slot] is the offset of attempt slot + 1.
        while (slot < RetrySchedule.AttemptCount && RetrySchedule.Offsets[slot] <= scheduleElapsed)
        {
            slot++;
        }
        return slot;
    }

    public static TimeSpan OffsetOf(int slot) => RetrySchedule.Offsets[slot - 1];

    /// <summary>True when no attempt follows <paramref name="slot"/> within the window.</summary>
    public static bool IsLast(int slot) => slot >= RetrySchedule.AttemptCount;
}
