using OnceHub.Contracts.Delivery;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery;

/// <summary>
/// The one place the local delivery touches the contract suite's <see cref="DeliveryEngine"/>: one attempt at
/// a time through its public single-attempt API, signed afresh (real time) with the webhook's own secret. The
/// schedule between attempts is the local deliverer's, read from the same <c>RetrySchedule</c>, because a
/// local delivery must survive a restart between attempts, which an in-process retry loop cannot.
/// </summary>
internal sealed class EngineAdapter : IDisposable
{
    private readonly DeliveryEngine _engine;

    public EngineAdapter(TimeSpan attemptTimeout, TimeProvider signingClock) =>
        _engine = new DeliveryEngine(new DeliveryOptions { AttemptTimeout = attemptTimeout, SigningClock = signingClock });

    /// <summary>One signed attempt; the result carries the answer's first bytes, which the delivery log keeps.</summary>
    public Task<AttemptResult> SendAsync(Uri target, ReadOnlyMemory<byte> body, WebhookSigner signer, CancellationToken cancellationToken) =>
        _engine.SendAsync(target, body, signer, cancellationToken);

    public void Dispose() => _engine.Dispose();
}
