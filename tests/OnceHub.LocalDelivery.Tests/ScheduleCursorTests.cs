using OnceHub.Contracts;

namespace OnceHub.LocalDelivery.Tests;

public class ScheduleCursorTests
{
    [Theory]
    // On time: the next attempt.
    [InlineData(2, 35, 2)]
    [InlineData(4, 4535, 4)]
    // Late but before the following attempt: still the next attempt.
    [InlineData(2, 200, 2)]
    // Several attempts missed (a stopped deliverer): one attempt, as the latest attempt already due.
    [InlineData(2, 300, 3)]
    [InlineData(2, 7200, 4)]
    [InlineData(2, 30000, 5)]
    // Past the window: the last attempt, once.
    [InlineData(3, 400000, 15)]
    // A new delivery always starts with attempt 1, even when its sender was slow to send it.
    [InlineData(1, 300, 1)]
    public void An_overdue_delivery_sends_one_attempt_for_the_latest_due_attempt(int nextAttempt, int elapsedSeconds, int expected) =>
        Assert.Equal(expected, ScheduleCursor.AttemptToSend(nextAttempt, TimeSpan.FromSeconds(elapsedSeconds)));

    [Fact]
    public void Attempt_offsets_follow_the_one_retry_schedule()
    {
        Assert.Equal(RetrySchedule.Offsets, Enumerable.Range(1, RetrySchedule.AttemptCount).Select(ScheduleCursor.OffsetOf));
        Assert.True(ScheduleCursor.IsLast(RetrySchedule.AttemptCount));
        Assert.False(ScheduleCursor.IsLast(RetrySchedule.AttemptCount - 1));
    }

    [Fact]
    public void Scaled_time_divides_the_offsets_and_multiplies_elapsed_time()
    {
        var time = DeliveryTime.Scaled(1000);
        var first = DateTimeOffset.UnixEpoch;
        Assert.Equal(first + TimeSpan.FromMilliseconds(35), time.DueAt(first, TimeSpan.FromSeconds(35)));
        Assert.Equal(TimeSpan.FromSeconds(215), time.ScheduleElapsed(first, first + TimeSpan.FromMilliseconds(215)));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeliveryTime.Scaled(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeliveryTime.Scaled(double.NaN));
    }
}
