using OnceHub.Contracts.Delivery;

namespace OnceHub.LocalDelivery;

/// <summary>Settings of the local delivery.</summary>
public sealed record LocalDeliveryOptions
{
    /// <summary>
    /// Real-time limit of one attempt. OnceHub documents none: this default is an assumption (the contract
    /// suite's), configurable.
    /// </summary>
    public TimeSpan AttemptTimeout { get; init; } = DeliveryOptions.DefaultAttemptTimeout;

    /// <summary>
    /// How the schedule runs: real, scaled or virtual. The account's deliveries run on one clock (see
    /// <see cref="DeliveryStore.AgreeClock"/>): a deliverer asking for another is refused while it is in use.
    /// </summary>
    public DeliveryTime Time { get; init; } = DeliveryTime.Real();

    /// <summary>True when <see cref="Time"/> was not chosen: the deliverer runs on the account's clock, whichever it is.</summary>
    public bool FollowAccountClock { get; init; }

    /// <summary>Real clock: the payload's <c>creation_time</c>, the signature's <c>t</c> and leases.</summary>
    public TimeProvider WallClock { get; init; } = TimeProvider.System;

    /// <summary>Attempts in flight at once, per process.</summary>
    public int MaxConcurrentAttempts { get; init; } = 64;

    /// <summary>How often a waiting deliverer looks for work other processes wrote (a trigger, a resend).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Told about store or account errors the delivery loop survives (it retries after <see cref="PollInterval"/>).</summary>
    public Action<string>? OnError { get; init; }
}
