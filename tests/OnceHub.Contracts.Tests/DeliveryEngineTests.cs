using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

public class DeliveryEngineTests
{
    private const string Secret = "engine-test-secret";
    private static readonly byte[] Sample = ContractResources.ReadSample("booking.scheduled");

    [Fact]
    public async Task Sends_onceHub_headers_and_a_valid_signature_over_the_exact_bytes()
    {
        await using var receiver = await TestReceiver.VerifyingAsync(Secret, _ => 200);
        using var engine = new DeliveryEngine();
        var result = await engine.SendAsync(receiver.Url, Sample, new WebhookSigner(Secret));

        Assert.Equal(AttemptOutcome.Accepted, result.Outcome);
        Assert.Equal(200, result.StatusCode);
        var request = Assert.Single(receiver.Requests);
        Assert.Equal(Sample, request.Body);
        Assert.Equal("application/json", request.ContentType);
        Assert.StartsWith("OnceHub-Webhooks-Contracts/", request.UserAgent, StringComparison.Ordinal);
        Assert.True(new SignatureVerifier(Secret).Verify(request.Signature, request.Body).IsValid);
    }

    [Theory]
    [InlineData(400, AttemptOutcome.Refused)]
    [InlineData(302, AttemptOutcome.Refused)]
    [InlineData(503, AttemptOutcome.Refused)]
    [InlineData(204, AttemptOutcome.Accepted)]
    public async Task Only_2xx_counts_as_accepted(int status, AttemptOutcome expected)
    {
        await using var receiver = await TestReceiver.StartAsync((_, _) => Task.FromResult(status));
        using var engine = new DeliveryEngine();
        var result = await engine.SendAsync(receiver.Url, Sample, new WebhookSigner(Secret));
        Assert.Equal(expected, result.Outcome);
        Assert.Equal(status, result.StatusCode);
    }

    [Theory]
    [InlineData(1, 35)]
    [InlineData(3, 4535)]
    [InlineData(5, 47735)]
    public async Task Receiver_failing_the_first_attempts_gets_the_event_at_the_next_scheduled_attempt(int failures, long offset)
    {
        var seen = new ConcurrentDictionary<string, int>();
        await using var receiver = await TestReceiver.VerifyingAsync(Secret, id => seen.AddOrUpdate(id, 1, (_, n) => n + 1) <= failures ? 503 : 200);
        // A signing clock that moves one second per reading, so each attempt's fresh signature differs.
        var signingClock = new FakeTimeProvider(DateTimeOffset.UtcNow) { AutoAdvanceAmount = TimeSpan.FromSeconds(1) };
        using var engine = new DeliveryEngine(new DeliveryOptions { SigningClock = signingClock });

        var result = await engine.DeliverAsync(receiver.Url, Sample, new WebhookSigner(Secret));

        Assert.True(result.Delivered);
        Assert.Equal(failures + 1, result.AcceptedAttempt!.Attempt);
        Assert.Equal(offset, (long)result.AcceptedAttempt.Offset.TotalSeconds);
        Assert.Equal(failures + 1, result.Attempts.Count);
        Assert.All(result.Attempts.Take(failures), a => Assert.Equal(503, a.Result.StatusCode));
        Assert.Equal(RetrySchedule.Offsets.Take(failures + 1), result.Attempts.Select(a => a.Offset));

        var requests = receiver.Requests.ToList();
        Assert.Equal(failures + 1, requests.Count);
        Assert.All(requests, r => Assert.Equal(TestReceiver.EventId(Sample), TestReceiver.EventId(r.Body)));
        Assert.Equal(requests.Count, requests.Select(r => r.Signature).Distinct().Count());
    }

    [Fact]
    public async Task Receiver_that_is_down_gets_all_15_attempts_over_the_72_hour_window()
    {
        // A port that was free a moment ago: connections are refused at once, so every attempt is real and quick.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var engine = new DeliveryEngine();

        var result = await engine.DeliverAsync(new Uri($"http://127.0.0.1:{port}/hook"), Sample, new WebhookSigner(Secret));

        Assert.False(result.Delivered);
        Assert.Equal(15, result.Attempts.Count);
        Assert.All(result.Attempts, a => Assert.Equal(AttemptOutcome.ConnectionFailed, a.Result.Outcome));
        Assert.Equal(TimeSpan.FromSeconds(242135), result.Attempts[^1].Offset);
    }

    [Fact]
    public async Task Receiver_that_never_answers_times_out_each_attempt()
    {
        await using var receiver = await TestReceiver.StartAsync(async (http, _) =>
        {
            await Task.Delay(Timeout.Infinite, http.RequestAborted);
            return 200;
        });
        using var engine = new DeliveryEngine(new DeliveryOptions { AttemptTimeout = TimeSpan.FromMilliseconds(200) });

        var single = await engine.SendAsync(receiver.Url, Sample, new WebhookSigner(Secret));
        Assert.Equal(AttemptOutcome.TimedOut, single.Outcome);
        Assert.Null(single.StatusCode);

        // The caller's deadline ends the schedule early; what was tried is returned, not thrown.
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        var delivery = await engine.DeliverAsync(receiver.Url, Sample, new WebhookSigner(Secret), cancellationToken: deadline.Token);
        Assert.False(delivery.Delivered);
        Assert.InRange(delivery.Attempts.Count, 0, 14);
        Assert.All(delivery.Attempts, a => Assert.Contains(a.Result.Outcome, new[] { AttemptOutcome.TimedOut, AttemptOutcome.Canceled }));
    }

    [Fact]
    public async Task Retries_wait_on_the_given_clock()
    {
        await using var receiver = await TestReceiver.StartAsync((_, _) => Task.FromResult(500));
        using var engine = new DeliveryEngine();
        var clock = new VirtualClock(DateTimeOffset.UnixEpoch);

        var result = await engine.DeliverAsync(receiver.Url, Sample, new WebhookSigner(Secret), clock);

        Assert.Equal(15, result.Attempts.Count);
        Assert.Equal(DateTimeOffset.UnixEpoch + TimeSpan.FromSeconds(242135), clock.GetUtcNow());
    }

    [Fact]
    public async Task One_engine_serves_concurrent_deliveries()
    {
        await using var receiver = await TestReceiver.VerifyingAsync(Secret, _ => 200);
        using var engine = new DeliveryEngine();
        var signer = new WebhookSigner(Secret);
        var results = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => engine.SendAsync(receiver.Url, Sample, signer)));
        Assert.All(results, r => Assert.Equal(AttemptOutcome.Accepted, r.Outcome));
        Assert.Equal(32, receiver.Requests.Count);
    }
}
