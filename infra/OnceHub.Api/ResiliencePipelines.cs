using System.Globalization;
using System.Net;
using Polly;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;
using RestSharp;

namespace OnceHub.Api;

/// <summary>
/// The client's resilience, as small pipelines composed outermost first: total timeout, rate-limit
/// retry, transient-failure retry, the shared pacer, attempt timeout. Every attempt, retries
/// included, takes its turn from the pacer, and the wait for it does not eat into the attempt
/// timeout. The retry waits run on <see cref="OnceHubClientOptions.TimeProvider"/>; both timeouts on
/// real time.
/// </summary>
internal static class ResiliencePipelines
{
    /// <summary>For GET and DELETE: retries 429, 5xx, attempt timeouts and connection failures.</summary>
    public static ResiliencePipeline<RestResponse> Idempotent(OnceHubClientOptions options, RequestPacer? pacer, Action<string>? log) =>
        Compose(options, pacer, log, outcome => outcome switch
        {
            { Exception: TimeoutRejectedException or HttpRequestException } => true,
            { Result: { } response } => (int)response.StatusCode >= 500,
            _ => false,
        });

    /// <summary>
    /// For POST: retries only what cannot have created anything, a 429 or a connection never
    /// established. Ambiguous failures are left to the caller's reconciliation.
    /// </summary>
    public static ResiliencePipeline<RestResponse> NonIdempotent(OnceHubClientOptions options, RequestPacer? pacer, Action<string>? log) =>
        Compose(options, pacer, log, outcome =>
            outcome.Exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError });

    private static ResiliencePipeline<RestResponse> Compose(
        OnceHubClientOptions options, RequestPacer? pacer, Action<string>? log, Func<Outcome<RestResponse>, bool> shouldRetry)
    {
        var total = new ResiliencePipelineBuilder<RestResponse>()
            .AddTimeout(options.TotalTimeout)
            .Build();
        var attempt = new ResiliencePipelineBuilder<RestResponse>()
            .AddTimeout(options.AttemptTimeout)
            .Build();
        // A 429 commits nothing and says when to come back: waiting it out is bounded by the total
        // timeout alone, so a burst of calls drains at the API's rate instead of failing after
        // MaxAttempts, which bounds the transient failures.
        var composed = new ResiliencePipelineBuilder<RestResponse>()
            .AddPipeline(total)
            .AddPipeline(Retry(options, log, int.MaxValue, outcome => outcome.Result is { } response && IsRetriableRateLimit(response, options)));
        if (options.MaxAttempts > 1)
        {
            composed.AddPipeline(Retry(options, log, options.MaxAttempts - 1, shouldRetry));
        }

        if (pacer is not null)
        {
            composed.AddRateLimiter(new RateLimiterStrategyOptions
            {
                RateLimiter = args => pacer.WaitTurnAsync(args.Context.CancellationToken),
            });
        }

        return composed.AddPipeline(attempt).Build();
    }

    private static ResiliencePipeline<RestResponse> Retry(
        OnceHubClientOptions options, Action<string>? log, int maxRetries, Func<Outcome<RestResponse>, bool> shouldRetry)
    {
        var clock = options.TimeProvider;
        var bound = maxRetries == int.MaxValue ? "until the total timeout" : $"of {maxRetries + 1}";
        return new ResiliencePipelineBuilder<RestResponse> { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions<RestResponse>
            {
                MaxRetryAttempts = maxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(shouldRetry(args.Outcome)),
                // The server's Retry-After (429, or a 503 that sends one) wins over the backoff; null falls back to it.
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } response ? RetryAfter(response, clock) : null),
                OnRetry = args =>
                {
                    log?.Invoke(
                        $"OnceHub {Describe(args.Context)}: {Describe(args.Outcome)}; attempt {args.AttemptNumber + 2} {bound} in {args.RetryDelay.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s");
                    return default;
                },
            })
            .Build();
    }

    /// <summary>A 429 is worth retrying unless its Retry-After lies beyond the whole call's budget.</summary>
    private static bool IsRetriableRateLimit(RestResponse response, OnceHubClientOptions options) =>
        response.StatusCode == HttpStatusCode.TooManyRequests
        && !(RetryAfter(response, options.TimeProvider) > options.TotalTimeout);

    /// <summary><c>Retry-After</c> as delta-seconds or an HTTP date; null when absent or unreadable.</summary>
    public static TimeSpan? RetryAfter(RestResponse response, TimeProvider clock)
    {
        var value = response.GetHeaderValue("Retry-After")?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.FromDays(1).TotalSeconds));
        }

        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var wait = date - clock.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    public static readonly ResiliencePropertyKey<string> Operation = new("oncehub.operation");

    private static string Describe(ResilienceContext context) =>
        context.Properties.GetValue(Operation, "request");

    private static string Describe(Outcome<RestResponse> outcome) => outcome switch
    {
        { Exception: TimeoutRejectedException timeout } => $"no answer within {timeout.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s",
        { Exception: { } ex } => $"connection failed ({ex.Message})",
        { Result: { } response } => $"HTTP {(int)response.StatusCode}",
        _ => "failed",
    };
}
