using Polly;

namespace OnceHub.Contracts.Delivery;

/// <summary>
/// Options of <see cref="RetryScheduleBuilderExtensions.AddOnceHubRetrySchedule{TResult}"/>: which
/// outcomes are failed attempts and what to do before a retry. The waits themselves are not an option:
/// they are <see cref="RetrySchedule"/>, the one schedule OnceHub documents.
/// </summary>
public sealed class OnceHubRetryScheduleOptions<TResult> : ResilienceStrategyOptions
{
    public OnceHubRetryScheduleOptions() => Name = "OnceHubRetrySchedule";

    /// <summary>True when an attempt's outcome failed and the schedule goes on.</summary>
    public required Func<Outcome<TResult>, bool> ShouldRetry { get; init; }

    /// <summary>Called with the failed attempt's number (1-based) and the wait before the next one.</summary>
    public Action<int, TimeSpan>? OnRetry { get; init; }
}

public static class RetryScheduleBuilderExtensions
{
    /// <summary>
    /// The context property that, when set, gives one execution its own clock for the waits (e.g. a fresh
    /// <see cref="VirtualClock"/> per delivery, so concurrent deliveries each see their own offsets).
    /// Without it the waits run on the builder's <see cref="ResiliencePipelineBuilderBase.TimeProvider"/>.
    /// </summary>
    public static readonly ResiliencePropertyKey<TimeProvider> ScheduleClock = new("OnceHub.ScheduleClock");

    /// <summary>
    /// Retries failed attempts on OnceHub's schedule: attempt 1 at once, then after 35 s, 3 min, 72 min and
    /// every 6 h, no attempt later than 72 h after the first (<see cref="RetrySchedule.Offsets"/>).
    /// </summary>
    public static ResiliencePipelineBuilder<TResult> AddOnceHubRetrySchedule<TResult>(
        this ResiliencePipelineBuilder<TResult> builder, OnceHubRetryScheduleOptions<TResult> options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        return builder.AddStrategy(context => new RetryScheduleStrategy<TResult>(options, context.TimeProvider), options);
    }
}

/// <summary>The strategy behind <see cref="RetryScheduleBuilderExtensions.AddOnceHubRetrySchedule{TResult}"/>.</summary>
internal sealed class RetryScheduleStrategy<TResult>(OnceHubRetryScheduleOptions<TResult> options, TimeProvider clock)
    : ResilienceStrategy<TResult>
{
    protected override async ValueTask<Outcome<TResult>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
    {
        var waitClock = context.Properties.TryGetValue(RetryScheduleBuilderExtensions.ScheduleClock, out var own) ? own : clock;
        for (var attempt = 1; ; attempt++)
        {
            var outcome = await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
            if (attempt >= RetrySchedule.AttemptCount || context.CancellationToken.IsCancellationRequested || !options.ShouldRetry(outcome))
            {
                return outcome;
            }
            var wait = RetrySchedule.DelayBefore(attempt + 1);
            options.OnRetry?.Invoke(attempt, wait);
            try
            {
                await Task.Delay(wait, waitClock, context.CancellationToken).ConfigureAwait(context.ContinueOnCapturedContext);
            }
            catch (OperationCanceledException ex)
            {
                return Outcome.FromException<TResult>(ex);
            }
        }
    }
}
