using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;

namespace OnceHub.Api;

/// <summary>
/// Paces requests to one API so that they stay under its rate limits instead of spending the
/// budget on 429s: a token bucket for the per-second rate (one token at a time, so no second holds
/// more than the rate even if OnceHub counts in sliding windows), a sliding window for the
/// per-address budget, and a pause that every caller honours after a 429. One pacer per API and
/// key per process, shared by every client (<see cref="Acquire"/>), so concurrent calls queue in
/// arrival order rather than race.
/// </summary>
internal sealed class RequestPacer : IDisposable
{
    private static readonly Dictionary<string, RequestPacer> Shared = new(StringComparer.Ordinal);
    private static readonly Lock SharedGate = new();

    private readonly string _key;
    private readonly TokenBucketRateLimiter? _rate;
    private readonly SlidingWindowRateLimiter? _budget;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private DateTimeOffset _pausedUntil = DateTimeOffset.MinValue;
    private int _consecutiveLimits;
    private int _users;

    private RequestPacer(string key, double? requestsPerSecond, int? requestsPerWindow, TimeSpan window, TimeProvider clock)
    {
        _key = key;
        _clock = clock;
        if (requestsPerSecond is { } rate)
        {
            _rate = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = 1,
                TokensPerPeriod = 1,
                ReplenishmentPeriod = TimeSpan.FromSeconds(1 / rate),
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            });
        }

        if (requestsPerWindow is { } budget)
        {
            _budget = new SlidingWindowRateLimiter(new SlidingWindowRateLimiterOptions
            {
                PermitLimit = budget,
                Window = window,
                SegmentsPerWindow = 10,
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            });
        }
    }

    /// <summary>Pauses seen so far (each 429 makes one); for tests and logs.</summary>
    public int Pauses { get; private set; }

    /// <summary>
    /// The pacer of this process for <paramref name="options"/>' API and key, created on first use
    /// and disposed when its last client is; null when pacing is off.
    /// </summary>
    public static RequestPacer? Acquire(OnceHubClientOptions options)
    {
        if (options.RequestsPerSecond is null && options.RequestsPerWindow is null)
        {
            return null;
        }

        // The key is hashed: the registry must not hold it in the clear any longer than the client does.
        var keyHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(options.ApiKey)));
        var key = string.Join('|', options.BaseUrl.GetLeftPart(UriPartial.Path), keyHash, options.RequestsPerSecond, options.RequestsPerWindow, options.RequestWindow);
        lock (SharedGate)
        {
            if (!Shared.TryGetValue(key, out var pacer))
            {
                pacer = new RequestPacer(key, options.RequestsPerSecond, options.RequestsPerWindow, options.RequestWindow, options.TimeProvider);
                Shared[key] = pacer;
            }

            pacer._users++;
            return pacer;
        }
    }

    /// <summary>Waits for the pause (if any), the per-address budget and a rate token, in that order.</summary>
    public async ValueTask<RateLimitLease> WaitTurnAsync(CancellationToken cancellationToken)
    {
        await WaitOutPause(cancellationToken);
        if (_budget is not null)
        {
            using var permit = await _budget.AcquireAsync(1, cancellationToken);
        }

        var lease = _rate is null ? Granted.Instance : await _rate.AcquireAsync(1, cancellationToken);
        // A 429 may have arrived while this call queued: it waits that pause out too.
        await WaitOutPause(cancellationToken);
        return lease;
    }

    /// <summary>
    /// Learns from a 429: every caller of this pacer holds off for <paramref name="retryAfter"/>, or,
    /// when the API gives none (OnceHub documents none), for a delay that doubles with each 429 in a
    /// row, from 1 s up to 30 s.
    /// </summary>
    public TimeSpan Pause(TimeSpan? retryAfter)
    {
        lock (_gate)
        {
            _consecutiveLimits++;
            Pauses++;
            var wait = retryAfter ?? TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(_consecutiveLimits - 1, 5))));
            var until = _clock.GetUtcNow() + wait;
            if (until > _pausedUntil)
            {
                _pausedUntil = until;
            }

            return wait;
        }
    }

    /// <summary>An answer that was not a 429 ends a run of them.</summary>
    public void Succeeded()
    {
        lock (_gate)
        {
            _consecutiveLimits = 0;
        }
    }

    public void Dispose()
    {
        lock (SharedGate)
        {
            if (--_users > 0)
            {
                return;
            }

            Shared.Remove(_key);
        }

        _rate?.Dispose();
        _budget?.Dispose();
    }

    private async Task WaitOutPause(CancellationToken cancellationToken)
    {
        while (true)
        {
            TimeSpan wait;
            lock (_gate)
            {
                wait = _pausedUntil - _clock.GetUtcNow();
            }

            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(wait, _clock, cancellationToken);
        }
    }

    /// <summary>The lease of a pacer with no rate token to hand out.</summary>
    private sealed class Granted : RateLimitLease
    {
        public static readonly Granted Instance = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
