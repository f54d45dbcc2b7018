using OnceHub.Contracts.Delivery;

namespace OnceHub.LocalDelivery;

/// <summary>
/// How the retry schedule maps onto a clock. Real: offsets as OnceHub's. Scaled: every offset divided by
/// <see cref="Scale"/> on the real clock (35 s take 35/N s), so a delivery resumed by another process or after a
/// restart keeps its place, because due times are stored as clock times. Virtual: a
/// <see cref="VirtualClock"/> that jumps to the next due attempt, the whole schedule in milliseconds.
/// </summary>
public sealed class DeliveryTime
{
    private DeliveryTime(TimeProvider clock, double scale, bool isVirtual)
    {
        Clock = clock;
        Scale = scale;
        IsVirtual = isVirtual;
    }

    /// <summary>Due times are read and stored on this clock.</summary>
    public TimeProvider Clock { get; }

    /// <summary>Schedule seconds per clock second (1 unless scaled).</summary>
    public double Scale { get; }

    /// <summary>True when waits complete at once and move <see cref="Clock"/> forward.</summary>
    public bool IsVirtual { get; }

    public static DeliveryTime Real(TimeProvider? clock = null) => new(clock ?? TimeProvider.System, 1, false);

    /// <exception cref="ArgumentOutOfRangeException">The scale is not a positive finite number.</exception>
    public static DeliveryTime Scaled(double scale, TimeProvider? clock = null)
    {
        if (!double.IsFinite(scale) || scale <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(scale), "the time scale must be a positive finite number");
        }
        return new DeliveryTime(clock ?? TimeProvider.System, scale, false);
    }

    public static DeliveryTime Virtual() => new(new VirtualClock(), 1, true);

    /// <summary>When the attempt at <paramref name="offset"/> (schedule time) of a delivery first tried at <paramref name="first"/> is due.</summary>
    public DateTimeOffset DueAt(DateTimeOffset first, TimeSpan offset) => first + offset / Scale;

    /// <summary>Schedule time passed since a delivery's first attempt.</summary>
    public TimeSpan ScheduleElapsed(DateTimeOffset first, DateTimeOffset now) =>
        now <= first ? TimeSpan.Zero : (now - first) * Scale;

    public override string ToString() => IsVirtual ? "virtual time" : Scale == 1 ? "real time" : $"time scaled x{Scale:0.###}";
}
