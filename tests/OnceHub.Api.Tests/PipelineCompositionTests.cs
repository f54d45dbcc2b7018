using Polly;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Testing;
using Polly.Timeout;
using RestSharp;

namespace OnceHub.Api.Tests;

/// <summary>The client's pipelines hold the strategies, in the order, with the limits its options say.</summary>
public class PipelineCompositionTests
{
    private static readonly OnceHubClientOptions Options = new()
    {
        ApiKey = "composition-key",
        AttemptTimeout = TimeSpan.FromSeconds(7),
        TotalTimeout = TimeSpan.FromSeconds(70),
        MaxAttempts = 4,
    };

    public static TheoryData<string> Kinds() => new() { "idempotent", "non-idempotent" };

    private static ResiliencePipeline<RestResponse> Build(string kind, OnceHubClientOptions options, RequestPacer? pacer = null) =>
        kind == "idempotent" ? ResiliencePipelines.Idempotent(options, pacer, null) : ResiliencePipelines.NonIdempotent(options, pacer, null);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Total_timeout_then_rate_limit_retry_then_transient_retry_then_attempt_timeout(string kind)
    {
        var strategies = Build(kind, Options).GetPipelineDescriptor().Strategies;

        Assert.Equal(4, strategies.Count);
        Assert.Equal(TimeSpan.FromSeconds(70), Assert.IsType<TimeoutStrategyOptions>(strategies[0].Options).Timeout);
        var rateLimit = Assert.IsType<RetryStrategyOptions<RestResponse>>(strategies[1].Options);
        Assert.Equal(int.MaxValue, rateLimit.MaxRetryAttempts);
        var transient = Assert.IsType<RetryStrategyOptions<RestResponse>>(strategies[2].Options);
        Assert.Equal(3, transient.MaxRetryAttempts);
        Assert.Equal(DelayBackoffType.Exponential, transient.BackoffType);
        Assert.True(transient.UseJitter);
        Assert.Equal(TimeSpan.FromSeconds(7), Assert.IsType<TimeoutStrategyOptions>(strategies[3].Options).Timeout);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void One_attempt_leaves_out_the_transient_retry(string kind)
    {
        var strategies = Build(kind, Options with { MaxAttempts = 1 }).GetPipelineDescriptor().Strategies;

        Assert.Equal(3, strategies.Count);
        Assert.IsType<TimeoutStrategyOptions>(strategies[0].Options);
        Assert.Equal(int.MaxValue, Assert.IsType<RetryStrategyOptions<RestResponse>>(strategies[1].Options).MaxRetryAttempts);
        Assert.IsType<TimeoutStrategyOptions>(strategies[2].Options);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_pacer_waits_its_turn_inside_the_retries_so_every_attempt_is_paced(string kind)
    {
        using var pacer = RequestPacer.Acquire(Options with { RequestsPerSecond = 5, RequestsPerWindow = 200, RequestWindow = TimeSpan.FromMinutes(5) });
        Assert.NotNull(pacer);
        var strategies = Build(kind, Options, pacer).GetPipelineDescriptor().Strategies;

        Assert.Equal(5, strategies.Count);
        Assert.IsType<TimeoutStrategyOptions>(strategies[0].Options);
        Assert.IsType<RetryStrategyOptions<RestResponse>>(strategies[1].Options);
        Assert.IsType<RetryStrategyOptions<RestResponse>>(strategies[2].Options);
        Assert.IsType<RateLimiterStrategyOptions>(strategies[3].Options);
        Assert.Equal(TimeSpan.FromSeconds(7), Assert.IsType<TimeoutStrategyOptions>(strategies[4].Options).Timeout);
    }
}
