using OnceHub.LocalDelivery;

namespace OnceHub.Emulator.LocalDelivery;

/// <summary>
/// The emulator's local delivery. The trigger route is always there; <see cref="Deliver"/> makes the emulator
/// also send every due retry for its account, like <c>trigger --follow</c> does for one event.
/// </summary>
public sealed record EmulatorDeliverySettings
{
    public bool Deliver { get; init; }

    public DeliveryTime Time { get; init; } = DeliveryTime.Real();

    /// <summary>True when the emulator was given no clock: it runs on the one its account's deliveries run on.</summary>
    public bool FollowAccountClock { get; init; } = true;

    /// <summary>Null: the local delivery's default (an assumption: OnceHub documents no per-attempt timeout).</summary>
    public TimeSpan? AttemptTimeout { get; init; }
}
