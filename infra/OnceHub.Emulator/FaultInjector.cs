using System.Threading.RateLimiting;

namespace OnceHub.Emulator;

/// <summary>Faults the emulator injects, settable while it runs. Thread-safe.</summary>
public sealed class FaultInjector : IDisposable
{
    private readonly Lock _gate = new();
    private int _failuresLeft;
    private int _failureStatus;
    private string? _failureRetryAfter;
    private int _dropsLeft;
    private TimeSpan _latency;
    private double? _rateLimit;
    private TokenBucketRateLimiter? _limiter;
    private PartitionedRateLimiter<string>? _addressLimiter;
    private TimeSpan _addressWindow;

    /// <summary>
    /// Answers the next <paramref name="count"/> requests (any endpoint, before authentication) with
    /// <paramref name="status"/> and OnceHub's error JSON, with <c>Retry-After</c> set to
    /// <paramref name="retryAfter"/> verbatim (seconds or an HTTP date) when given; a 429 always carries one ("1" by default).
    /// </summary>
    public void FailNext(int count, int status, string? retryAfter = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (status is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "status must be an HTTP error status, 400..599");
        }

        lock (_gate)
        {
            _failuresLeft = count;
            _failureStatus = status;
            _failureRetryAfter = retryAfter;
        }
    }

    /// <summary>The next creates are committed, then the connection is aborted without an answer.</summary>
    public void DropNextCreateResponses(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        lock (_gate)
        {
            _dropsLeft = count;
        }
    }

    public TimeSpan Latency
    {
        get
        {
            lock (_gate)
            {
                return _latency;
            }
        }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            lock (_gate)
            {
                _latency = value;
            }
        }
    }

    /// <summary>Null = unlimited. A token bucket holding one second's worth of requests.</summary>
    public double? RateLimitPerSecond
    {
        get
        {
            lock (_gate)
            {
                return _rateLimit;
            }
        }
        set
        {
            if (value is { } rate && (!double.IsFinite(rate) || rate <= 0))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "the rate limit must be a positive number of requests per second");
            }

            TokenBucketRateLimiter? old;
            lock (_gate)
            {
                old = _limiter;
                _rateLimit = value;
                _limiter = value is { } r ? NewLimiter(r) : null;
            }

            old?.Dispose();
        }
    }

    /// <summary>
    /// Limits each client address to <paramref name="permits"/> requests per <paramref name="window"/>
    /// (a sliding window); null <paramref name="permits"/> removes the limit. An address's counter is
    /// dropped once its window has passed without requests, so the limiter's memory is bounded by the
    /// addresses seen within one window.
    /// </summary>
    public void SetAddressLimit(int? permits, TimeSpan window)
    {
        if (permits is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(permits), permits, "the address limit must be at least 1 request per window");
        }

        if (permits is not null && (window < TimeSpan.FromSeconds(1) || window > TimeSpan.FromDays(1)))
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, "the address limit's window must be between 1 s and 1 day");
        }

        PartitionedRateLimiter<string>? old;
        lock (_gate)
        {
            old = _addressLimiter;
            _addressWindow = window;
            _addressLimiter = permits is { } n ? NewAddressLimiter(n, window) : null;
        }

        old?.Dispose();
    }

    /// <summary>Failures still to inject.</summary>
    public int PendingFailures
    {
        get
        {
            lock (_gate)
            {
                return _failuresLeft;
            }
        }
    }

    /// <summary>Dropped create responses still to inject.</summary>
    public int PendingDrops
    {
        get
        {
            lock (_gate)
            {
                return _dropsLeft;
            }
        }
    }

    public void Reset()
    {
        FailNext(0, 500);
        DropNextCreateResponses(0);
        Latency = TimeSpan.Zero;
        RateLimitPerSecond = null;
        SetAddressLimit(null, TimeSpan.Zero);
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _limiter?.Dispose();
            _limiter = null;
            _addressLimiter?.Dispose();
            _addressLimiter = null;
        }
    }

    internal bool TryTakeFailure(out int status, out string? retryAfter)
    {
        lock (_gate)
        {
            status = _failureStatus;
            retryAfter = _failureRetryAfter;
            if (_failuresLeft == 0)
            {
                return false;
            }

            _failuresLeft--;
            return true;
        }
    }

    internal bool TryTakeDrop()
    {
        lock (_gate)
        {
            if (_dropsLeft == 0)
            {
                return false;
            }

            _dropsLeft--;
            return true;
        }
    }

    /// <summary>False when over the rate; <paramref name="retryAfter"/> is then when a request will pass.</summary>
    internal bool TryAcquire(out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        TokenBucketRateLimiter? limiter;
        lock (_gate)
        {
            limiter = _limiter;
        }

        if (limiter is null)
        {
            return true;
        }

        try
        {
            using var lease = limiter.AttemptAcquire();
            if (lease.IsAcquired)
            {
                return true;
            }

            retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
            return false;
        }
        catch (ObjectDisposedException)
        {
            // The limit was changed concurrently; this request passes.
            return true;
        }
    }

    /// <summary>False when <paramref name="address"/> is over its limit; <paramref name="retryAfter"/> is then when to come back.</summary>
    internal bool TryAcquireForAddress(string address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        PartitionedRateLimiter<string>? limiter;
        TimeSpan window;
        lock (_gate)
        {
            limiter = _addressLimiter;
            window = _addressWindow;
        }

        if (limiter is null)
        {
            return true;
        }

        try
        {
            using var lease = limiter.AttemptAcquire(address);
            if (lease.IsAcquired)
            {
                return true;
            }

            // The oldest segment leaves the window within one segment's length at most.
            retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : window / AddressSegments;
            return false;
        }
        catch (ObjectDisposedException)
        {
            // The limit was changed concurrently; this request passes.
            return true;
        }
    }

    private const int AddressSegments = 10;

    private static PartitionedRateLimiter<string> NewAddressLimiter(int permits, TimeSpan window) =>
        PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetSlidingWindowLimiter(
            address,
            _ => new SlidingWindowRateLimiterOptions
            {
                PermitLimit = permits,
                Window = window,
                SegmentsPerWindow = AddressSegments,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));

    private static TokenBucketRateLimiter NewLimiter(double rate)
    {
        var tokens = Math.Max(1, (int)Math.Round(rate));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokens,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromSeconds(tokens / rate),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }
}
