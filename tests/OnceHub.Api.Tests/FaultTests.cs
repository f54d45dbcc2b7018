using System.Globalization;
using OnceHub.Account;
using OnceHub.Emulator;
using OnceHub.TestSupport;
using Xunit.Abstractions;

namespace OnceHub.Api.Tests;

/// <summary>Every injected fault is survived or reported as specified; each test prints what it showed.</summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    private static readonly WebhookRequest Sample = new("Analytics", "https://hooks.example.com/analytics", ["booking", "conversation.started"]);

    [Fact]
    public async Task Rate_limited_get_waits_the_retry_after_seconds()
    {
        await using var h = await Harness.StartAsync(output);
        var created = await h.Client.CreateAsync(Sample);
        h.Server.Faults.FailNext(1, 429, retryAfter: "3");

        var fetched = await h.Client.GetAsync(created.Id);

        h.Report("429 with Retry-After: 3 on GET");
        Assert.Equal(created.Id, fetched?.Id);
        Assert.Equal(3, h.Server.RequestCount); // create, 429, success
        Assert.True(Assert.Single(h.Time.Waits) >= TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Rate_limited_get_waits_until_the_retry_after_date()
    {
        // The client's clock stands still except for the waits, so the date's distance is exact.
        var now = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        await using var h = await Harness.StartAsync(output, time: new RecordingTimeProvider(now));
        h.Server.Faults.FailNext(1, 429, retryAfter: now.AddSeconds(7).ToString("r", CultureInfo.InvariantCulture));

        var all = await h.Client.ListAsync();

        h.Report("429 with Retry-After: <HTTP date 7 s ahead> on list");
        Assert.Empty(all);
        Assert.Equal(2, h.Server.RequestCount);
        Assert.True(Assert.Single(h.Time.Waits) >= TimeSpan.FromSeconds(7));
    }

    [Fact]
    public async Task Emulator_rate_limit_is_survived_by_honouring_its_retry_after()
    {
        // Real waits here: the emulator's token bucket refills on real time.
        await using var h = await Harness.StartAsync(
            output, new EmulatorOptions { RateLimitPerSecond = 1 },
            o => o with { MaxAttempts = 5 }, new RecordingTimeProvider(DateTimeOffset.UtcNow, realWaits: true));

        for (var i = 0; i < 3; i++)
        {
            Assert.Empty(await h.Client.ListAsync());
        }

        h.Report("rate limit 1/s, three lists back to back");
        var limited = h.Server.Requests.Count(r => r.EndsWith("-> 429", StringComparison.Ordinal));
        Assert.True(limited >= 1, "the emulator should have limited at least one request");
        Assert.Equal(3, h.Server.Requests.Count(r => r.EndsWith("-> 200", StringComparison.Ordinal)));
        Assert.Equal(limited, h.Time.Waits.Count);
        Assert.All(h.Time.Waits, w => Assert.True(w >= TimeSpan.FromSeconds(1), $"waited {w}, Retry-After asked for 1 s"));
    }

    [Fact]
    public async Task Retry_after_beyond_the_total_budget_is_reported_at_once()
    {
        await using var h = await Harness.StartAsync(output, client: o => o with { TotalTimeout = TimeSpan.FromSeconds(30) });
        h.Server.Faults.FailNext(1, 429, retryAfter: "3600");

        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.ListAsync());

        h.Report("429 with Retry-After: 3600 and a 30 s budget");
        Assert.Equal(429, ex.StatusCode);
        Assert.Equal(ApiErrorTypes.RateLimit, ex.Type);
        Assert.Equal(1, h.Server.RequestCount);
        Assert.Empty(h.Time.Waits);
    }

    [Fact]
    public async Task Server_errors_then_success_are_retried_with_backoff()
    {
        await using var h = await Harness.StartAsync(output);
        var created = await h.Client.CreateAsync(Sample);
        h.Server.Faults.FailNext(2, 503);

        Assert.True(await h.Client.DeleteAsync(created.Id));

        h.Report("fail next 2 with 503, then DELETE succeeds");
        Assert.Equal(4, h.Server.RequestCount); // create, 503, 503, 200
        Assert.Equal(2, h.Time.Waits.Count);
        Assert.All(h.Time.Waits, w => Assert.True(w > TimeSpan.Zero));
        Assert.Equal(0, h.Server.WebhookCount);
        Assert.Equal(2, h.Log.Count(l => l.Contains("HTTP 503", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_503_with_retry_after_is_honoured_too()
    {
        await using var h = await Harness.StartAsync(output);
        h.Server.Faults.FailNext(1, 503, retryAfter: "4");

        Assert.Empty(await h.Client.ListAsync());

        h.Report("503 with Retry-After: 4 on list");
        Assert.Equal(2, h.Server.RequestCount);
        Assert.True(Assert.Single(h.Time.Waits) >= TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task Server_errors_beyond_the_attempt_bound_are_reported_with_the_status()
    {
        await using var h = await Harness.StartAsync(output, client: o => o with { MaxAttempts = 3 });
        h.Server.Faults.FailNext(10, 502);

        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.GetAsync("WHK-ANY"));

        h.Report("fail next 10 with 502, MaxAttempts 3, GET");
        Assert.Equal(502, ex.StatusCode);
        Assert.Equal(ApiErrorTypes.Api, ex.Type);
        Assert.Equal(3, h.Server.RequestCount);
        Assert.Equal(7, h.Server.Faults.PendingFailures);
        Secrets.AssertAbsent(ex, Harness.ApiKey);
    }

    [Fact]
    public async Task Latency_beyond_the_attempt_timeout_is_reported_as_a_timeout()
    {
        await using var h = await Harness.StartAsync(
            output, new EmulatorOptions { Latency = TimeSpan.FromSeconds(5) },
            o => o with { AttemptTimeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 2 });

        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.ListAsync());

        h.Report("latency 5 s, attempt timeout 0.2 s, MaxAttempts 2, list");
        Assert.Equal(0, ex.StatusCode);
        Assert.Equal(ApiErrorTypes.Timeout, ex.Type);
        Assert.Contains("attempt timeout", ex.Message);
        Assert.Contains("2 attempts made", ex.Message);
        Assert.Single(h.Time.Waits); // one backoff between the two attempts
    }

    [Fact]
    public async Task Total_timeout_bounds_a_call_that_keeps_failing()
    {
        await using var h = await Harness.StartAsync(
            output, new EmulatorOptions { Latency = TimeSpan.FromSeconds(5) },
            o => o with { AttemptTimeout = TimeSpan.FromSeconds(2), TotalTimeout = TimeSpan.FromMilliseconds(300), MaxAttempts = 10 });

        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.GetAsync("WHK-ANY"));

        h.Report("latency 5 s, total timeout 0.3 s, GET");
        Assert.Equal(ApiErrorTypes.Timeout, ex.Type);
        Assert.Contains("total timeout", ex.Message);
    }

    [Fact]
    public async Task Dropped_create_response_adopts_the_committed_webhook_without_a_duplicate()
    {
        await using var h = await Harness.StartAsync(output);
        h.Server.Faults.DropNextCreateResponses();

        var created = await h.Client.CreateAsync(Sample);

        h.Report("create committed, then the connection dropped");
        var only = Assert.Single(h.Server.Webhooks);
        Assert.Equal(only.Id, created.Id);
        Assert.Equal(Sample.Name, created.Name);
        Assert.Equal(Sample.Events, created.Events);
        // Adopted from the listing, which carries no secret.
        Assert.Null(created.Secret);
        // The dropped answer's request is logged once its handler ends, which may be after the client moved on.
        Assert.True(await Eventually.HoldsWithinAsync(() => h.Server.Requests.Any(r => r.StartsWith("POST", StringComparison.Ordinal)), TimeSpan.FromSeconds(10)));
        Assert.Single(h.Server.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
        Assert.Contains(h.Log, l => l.Contains($"adopted the committed webhook {only.Id}", StringComparison.Ordinal));
        Secrets.AssertAbsent(string.Join("\n", h.Log), only.Secret, Harness.ApiKey);
    }

    [Fact]
    public async Task Create_answered_503_without_commit_is_reported_and_leaves_nothing()
    {
        await using var h = await Harness.StartAsync(output);
        h.Server.Faults.FailNext(1, 503);

        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.CreateAsync(Sample));

        h.Report("create answered 503 (nothing committed)");
        Assert.Equal(503, ex.StatusCode);
        Assert.Contains("no webhook named 'Analytics' exists afterwards", ex.Message);
        Assert.Equal(0, h.Server.WebhookCount);
        Assert.Single(h.Server.Requests, r => r.StartsWith("POST", StringComparison.Ordinal)); // never re-sent blindly
    }

    [Fact]
    public async Task Create_rate_limited_is_retried_because_nothing_was_committed()
    {
        await using var h = await Harness.StartAsync(output);
        h.Server.Faults.FailNext(2, 429, retryAfter: "2");

        var created = await h.Client.CreateAsync(Sample);

        h.Report("create answered 429 twice, then created");
        Assert.Equal(created.Id, Assert.Single(h.Server.Webhooks).Id);
        Assert.Matches("^[0-9a-f]{64}$", created.Secret!);
        Assert.Equal(3, h.Server.RequestCount);
        Assert.All(h.Time.Waits, w => Assert.True(w >= TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public async Task Rate_limit_answers_are_waited_out_past_max_attempts()
    {
        // Three 429s in a row where MaxAttempts allows two: rate-limit waits are bounded by the total timeout only.
        await using var h = await Harness.StartAsync(output, client: o => o with { MaxAttempts = 2 });
        h.Server.Faults.FailNext(3, 429, retryAfter: "1");

        var created = await h.Client.CreateAsync(Sample);

        h.Report("create answered 429 three times, MaxAttempts 2");
        Assert.Equal(created.Id, Assert.Single(h.Server.Webhooks).Id);
        Assert.Equal(4, h.Server.RequestCount);
    }

    [Fact]
    public async Task A_burst_of_creates_drains_at_the_rate_limit_however_many_waves_it_takes()
    {
        // A burst of creates three times the emulator's per-second limit meets 429s however fast the machine sends
        // them; every create lands, each exactly once.
        await using var h = await Harness.StartAsync(
            output, new EmulatorOptions { RateLimitPerSecond = 10 },
            o => o with { MaxAttempts = 2 }, new RecordingTimeProvider(DateTimeOffset.UtcNow, realWaits: true));

        var created = await Task.WhenAll(Enumerable.Range(0, 30).Select(i =>
            h.Client.CreateAsync(Sample with { Name = $"burst-{i:00}" })));

        h.Report("30 concurrent creates, rate limit 10/s, MaxAttempts 2");
        Assert.Equal(30, h.Server.Webhooks.Count);
        Assert.Equal(30, h.Server.Webhooks.Select(w => w.Name).Distinct().Count());
        Assert.All(created, w => Assert.Matches("^[0-9a-f]{64}$", w.Secret!));
    }

    [Fact]
    public async Task A_create_that_times_out_and_cannot_be_checked_reports_both_failures()
    {
        await using var h = await Harness.StartAsync(
            output, new EmulatorOptions { Latency = TimeSpan.FromSeconds(5) },
            o => o with { AttemptTimeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 2 });

        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.CreateAsync(Sample));

        h.Report("create with latency 5 s over a 0.2 s attempt timeout");
        Assert.Equal(ApiErrorTypes.Timeout, ex.Type);
        Assert.Contains("checking whether it was created failed too", ex.Message);
        Assert.Single(h.Server.Requests, r => r.StartsWith("POST", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unreachable_server_is_reported_as_a_connection_error_after_the_attempts()
    {
        Uri deadUrl;
        await using (var gone = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = Harness.ApiKey }))
        {
            deadUrl = gone.BaseUrl;
        }

        var time = new RecordingTimeProvider(DateTimeOffset.UtcNow);
        using var client = OnceHubClient.Create(
            new OnceHubClientOptions { BaseUrl = deadUrl, ApiKey = Harness.ApiKey, MaxAttempts = 3, TimeProvider = time },
            output.WriteLine);

        var get = await Assert.ThrowsAsync<OnceHubApiException>(() => client.GetAsync("WHK-ANY"));
        Assert.Equal(ApiErrorTypes.Connection, get.Type);
        Assert.Equal(0, get.StatusCode);
        Assert.Contains("3 attempts made", get.Message);

        // Refused connections carried nothing, so even a create may retry them.
        var create = await Assert.ThrowsAsync<OnceHubApiException>(() => client.CreateAsync(Sample));
        Assert.Equal(ApiErrorTypes.Connection, create.Type);
        Assert.Contains("checking whether it was created failed too", create.Message);
        output.WriteLine($"unreachable: {get.Message}\n{create.Message}\nwaits: {time.Waits.Count}");
        Secrets.AssertAbsent(get, Harness.ApiKey);
        Secrets.AssertAbsent(create, Harness.ApiKey);
    }
}
