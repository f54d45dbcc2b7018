using System.Diagnostics;
using OnceHub.Emulator;
using OnceHub.TestSupport;
using Xunit.Abstractions;

namespace OnceHub.Api.Tests;

/// <summary>The client's pacer: the API's budget goes to useful requests, not to 429s.</summary>
public sealed class PacingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Concurrent_creates_from_two_clients_share_one_pacer_and_meet_almost_no_429s()
    {
        // Two clients of one process for the same API and key, as a provider may hold: one pacer.
        const int perClient = 15;
        await using var h = await Harness.StartAsync(
            output, new EmulatorOptions().WithDocumentedLimits(),
            o => o with { RequestsPerSecond = 5, RequestsPerWindow = 200 },
            new RecordingTimeProvider(DateTimeOffset.UtcNow, realWaits: true));
        using var second = OnceHubClient.Create(new OnceHubClientOptions
        {
            BaseUrl = h.Server.BaseUrl,
            ApiKey = Harness.ApiKey,
            RequestsPerSecond = 5,
            RequestsPerWindow = 200,
        });

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, perClient).SelectMany(i => new[]
        {
            h.Client.CreateAsync(new WebhookRequest($"first {i:00}", "https://h.example.com/1", ["booking"])),
            second.CreateAsync(new WebhookRequest($"second {i:00}", "https://h.example.com/2", ["booking"])),
        }));
        var wall = clock.Elapsed;

        h.Report("30 concurrent creates from two clients, emulator at OnceHub's documented limits");
        var posts = h.Server.Requests.Count(r => r.StartsWith("POST", StringComparison.Ordinal));
        output.WriteLine($"{posts} POSTs for {2 * perClient} webhooks in {wall.TotalSeconds:0.00} s");
        Assert.Equal(2 * perClient, h.Server.WebhookCount);
        Assert.True(posts <= 2 * perClient * 1.1, $"{posts} POSTs for {2 * perClient} webhooks: more than 1.1 each");
    }

    [Fact]
    public async Task A_429_holds_off_the_other_callers_for_its_retry_after()
    {
        var time = new RetryWaitWatch();
        await using var h = await Harness.StartAsync(
            output, client: o => o with { RequestsPerSecond = 100, TimeProvider = time });
        h.Server.Faults.FailNext(1, 429, retryAfter: "2");

        var clock = Stopwatch.StartNew();
        var first = h.Client.ListAsync();
        // The second call starts while the first waits out its 429.
        await time.RetryWaitStarted.WaitAsync(Deadline.Seconds(10));
        Assert.Equal(1, h.Server.RequestCount);
        await h.Client.ListAsync();
        var secondDone = clock.Elapsed;
        await first;

        h.Report("429 with Retry-After: 2, a second call once the first waits it out");
        Assert.True(secondDone >= TimeSpan.FromSeconds(1.8), $"the second call went through after {secondDone.TotalSeconds:0.00} s, inside the pause");
        Assert.Equal(["GET /v2/webhooks?limit=100 -> 429", "GET /v2/webhooks?limit=100 -> 200", "GET /v2/webhooks?limit=100 -> 200"], h.Server.Requests);
    }
}

/// <summary>The real clock, telling when the client starts waiting out a Retry-After (a timer of a second or more).</summary>
internal sealed class RetryWaitWatch : TimeProvider
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task RetryWaitStarted => _started.Task;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime >= TimeSpan.FromSeconds(1) && dueTime != Timeout.InfiniteTimeSpan)
        {
            _started.TrySetResult();
        }
        return base.CreateTimer(callback, state, dueTime, period);
    }
}
