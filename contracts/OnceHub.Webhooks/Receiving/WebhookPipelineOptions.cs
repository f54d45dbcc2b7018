namespace OnceHub.Webhooks;

/// <summary>The settings of one <see cref="WebhookPipeline"/>.</summary>
public sealed class WebhookPipelineOptions
{
    /// <summary>The webhook's signing secret(s); several during a rollover. Required.</summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    /// <summary>How far the signature's timestamp may be from this machine's clock.</summary>
    public TimeSpan Tolerance { get; init; } = SignatureVerifier.DefaultTolerance;

    /// <summary>Your processing; null only records the event as processed. Throwing answers 500 (OnceHub retries).</summary>
    public Func<ReceivedEvent, CancellationToken, Task>? Handler { get; init; }

    /// <summary>
    /// How long a delivery owns an event id while its handler runs; a redelivery meanwhile gets 409. After
    /// the lease (a crash, a hung handler) a redelivery takes over, so no id stays stuck.
    /// </summary>
    public TimeSpan InFlightLease { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Handler failures of one id after which the event is quarantined and acknowledged.</summary>
    public int MaxHandlerFailures { get; init; } = 5;

    /// <summary>
    /// Skips stale events (<see cref="ReceivedEvent.IsStale"/>) instead of handing them to the handler: they are
    /// acknowledged (200) and settled as <see cref="SettledAs.Skipped"/>. Off by default: the handler sees every
    /// event and decides.
    /// </summary>
    public bool SkipStaleEvents { get; init; }

    /// <summary>The receiver's clock (for tests); default the system clock.</summary>
    public TimeProvider? Clock { get; init; }
}
