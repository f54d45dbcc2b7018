namespace OnceHub.Contracts.Tests;

public class RetryScheduleTests
{
    // Written out from the documented rule rather than computed the way the code does it.
    private static readonly long[] Expected =
    [
        0, 35, 215, 4535,
        26135, 47735, 69335, 90935, 112535, 134135, 155735, 177335, 198935, 220535, 242135,
    ];

    [Fact]
    public void Offsets_are_exactly_the_documented_ones()
    {
        Assert.Equal(Expected, RetrySchedule.Offsets.Select(o => (long)o.TotalSeconds));
        Assert.Equal(15, RetrySchedule.AttemptCount);
        Assert.True(RetrySchedule.Offsets[^1] <= RetrySchedule.Window);
        Assert.True(RetrySchedule.Offsets[^1] + TimeSpan.FromHours(6) > TimeSpan.FromHours(72));
    }

    [Fact]
    public void Waits_grow_then_cap_at_six_hours()
    {
        Assert.Equal(TimeSpan.FromSeconds(35), RetrySchedule.DelayBefore(2));
        Assert.Equal(TimeSpan.FromMinutes(3), RetrySchedule.DelayBefore(3));
        Assert.Equal(TimeSpan.FromMinutes(72), RetrySchedule.DelayBefore(4));
        for (var attempt = 5; attempt <= 15; attempt++)
        {
            Assert.Equal(TimeSpan.FromHours(6), RetrySchedule.DelayBefore(attempt));
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrySchedule.DelayBefore(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RetrySchedule.DelayBefore(16));
    }

    [Theory]
    [InlineData(0, 1, 0)]
    [InlineData(30, 2, 35)]
    [InlineData(35, 3, 215)] // an attempt at the very end of the outage still fails
    [InlineData(36, 3, 215)]
    [InlineData(300, 4, 4535)]
    [InlineData(5 * 3600, 5, 26135)]
    [InlineData(26134, 5, 26135)]
    [InlineData(2 * 86400, 12, 177335)]
    [InlineData(242134, 15, 242135)]
    public void Outage_answers_the_first_attempt_after_it(long outageSeconds, int attempt, long offsetSeconds)
    {
        var outcome = RetrySchedule.ForOutage(TimeSpan.FromSeconds(outageSeconds));
        Assert.False(outcome.Lost);
        Assert.Equal(attempt, outcome.Attempt);
        Assert.Equal(offsetSeconds, (long)outcome.Offset.TotalSeconds);
    }

    [Theory]
    [InlineData(242135)]
    [InlineData(72 * 3600)]
    [InlineData(30 * 86400)]
    public void Outage_reaching_the_last_attempt_loses_the_event(long outageSeconds)
    {
        var outcome = RetrySchedule.ForOutage(TimeSpan.FromSeconds(outageSeconds));
        Assert.True(outcome.Lost);
        Assert.Equal(0, outcome.Attempt);
    }
}
