namespace OnceHub.Contracts.Delivery;

/// <summary>
/// A clock for simulating the retry schedule: every wait completes at once and moves the clock
/// forward by the waited time, so 72 h of schedule pass in milliseconds. Meant for one delivery's
/// sequential waits; use one instance per delivery.
/// </summary>
public sealed class VirtualClock : TimeProvider
{
    private long _ticks;

    public VirtualClock(DateTimeOffset? start = null) =>
        _ticks = (start ?? System.GetUtcNow()).UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    /// <summary>Moves the clock forward.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _ticks, by.Ticks);
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        if (period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero)
        {
            throw new NotSupportedException("VirtualClock runs one-shot waits only");
        }
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            Advance(dueTime);
            // Fired on the pool, never inline: the caller has not stored the timer yet.
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.callback(s.state), (callback, state), preferLocal: false);
        }
        return InertTimer.Instance;
    }

    private sealed class InertTimer : ITimer
    {
        public static readonly InertTimer Instance = new();

        public bool Change(TimeSpan dueTime, TimeSpan period) => false;

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
