using Microsoft.Extensions.Time.Testing;
using OnceHub.Contracts.Delivery;
using Polly;
using Polly.Testing;

namespace OnceHub.Contracts.Tests;

public class RetryScheduleStrategyTests
{
    [Fact]
    public void The_engine_schedule_pipeline_is_the_one_schedule_strategy_alone()
    {
        using var engine = new DeliveryEngine();
        var descriptor = engine.SchedulePipeline.GetPipelineDescriptor();

        var strategy = Assert.Single(descriptor.Strategies);
        Assert.IsType<OnceHubRetryScheduleOptions<AttemptResult>>(strategy.Options);
        Assert.Equal("OnceHubRetrySchedule", strategy.Options!.Name);
        Assert.Equal("RetryScheduleStrategy`1", strategy.StrategyInstance.GetType().Name);
        // Built once per engine: the same instance serves every delivery.
        Assert.Same(engine.SchedulePipeline, engine.SchedulePipeline);
    }

    [Fact]
    public async Task Waits_follow_the_documented_offsets_on_the_injected_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var waits = new List<TimeSpan>();
        var pipeline = new ResiliencePipelineBuilder<int> { TimeProvider = clock }
            .AddOnceHubRetrySchedule(new OnceHubRetryScheduleOptions<int>
            {
                ShouldRetry = o => o.Result != 200,
                OnRetry = (_, wait) => waits.Add(wait),
            })
            .Build();
        var offsets = new List<TimeSpan>();

        var run = pipeline.ExecuteAsync(_ =>
        {
            offsets.Add(clock.GetUtcNow() - DateTimeOffset.UnixEpoch);
            return ValueTask.FromResult(503);
        }).AsTask();
        while (!run.IsCompleted)
        {
            // Each wait is a real timer on the fake clock: move it on to the next attempt.
            await Task.Delay(5);
            if (waits.Count > 0 && offsets.Count == waits.Count)
            {
                clock.Advance(waits[^1]);
            }
        }

        Assert.Equal(503, await run);
        Assert.Equal(RetrySchedule.Offsets, offsets);
        Assert.Equal(RetrySchedule.AttemptCount - 1, waits.Count);
    }

    [Fact]
    public async Task A_success_or_a_non_retried_outcome_ends_the_schedule()
    {
        var calls = 0;
        var pipeline = new ResiliencePipelineBuilder<int> { TimeProvider = new VirtualClock() }
            .AddOnceHubRetrySchedule(new OnceHubRetryScheduleOptions<int> { ShouldRetry = o => o.Result == 503 })
            .Build();
        Assert.Equal(200, await pipeline.ExecuteAsync(_ => ValueTask.FromResult(++calls < 3 ? 503 : 200)));
        Assert.Equal(3, calls);
    }
}
