using System.Diagnostics;
using OnceHub.Contracts.Delivery;

namespace OnceHub.Benchmarks.Harness;

/// <summary>Deliveries per second, non-2xx count and latency quantiles of one load run.</summary>
public sealed record Load(double PerSecond, long Failed, double P50Ms, double P99Ms);

/// <summary>Runs deliveries from a fixed number of concurrent workers for a fixed time.</summary>
public static class DeliveryLoad
{
    public static async Task<Load> RunAsync(int concurrency, TimeSpan duration, Func<Task<AttemptResult>> deliver)
    {
        long ok = 0, failed = 0;
        var latencies = new List<double>[concurrency];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = latencies[worker] = new List<double>(100_000);
            while (clock.Elapsed < duration)
            {
                var result = await deliver();
                mine.Add(result.Elapsed.TotalMilliseconds);
                if (result.IsAccepted)
                {
                    Interlocked.Increment(ref ok);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })));
        var elapsed = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).ToList();
        return new Load(ok / elapsed, failed, Stats.Median(all), Stats.Quantile(all, 0.99));
    }
}
