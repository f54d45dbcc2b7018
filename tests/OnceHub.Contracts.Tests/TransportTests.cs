using System.Net;
using System.Net.Sockets;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

/// <summary>
/// The suite's own connection handling never fails a correct receiver: each stand-in receiver is
/// verified 20 times in a row and every run must pass.
/// </summary>
public class TransportTests
{
    private const string Secret = "transport-secret";
    private const int Runs = 20;

    [Theory]
    [InlineData(RawReceiver.Style.Http10CloseAfterAnswer)]
    [InlineData(RawReceiver.Style.ClosesIdleAfter20Ms)]
    [InlineData(RawReceiver.Style.ConnectionCloseHeader)]
    public async Task A_correct_receiver_passes_every_run_whatever_it_does_with_connections(RawReceiver.Style style)
    {
        await using var receiver = new RawReceiver(style, Secret);
        string? lastTrace = null;
        using var engine = new DeliveryEngine(new DeliveryOptions { Trace = t => lastTrace = t });
        var signer = new WebhookSigner(Secret);
        var sample = ContractResources.ReadSample("booking.scheduled");
        var falseFailures = new List<string>();
        for (var run = 0; run < Runs; run++)
        {
            var report = await ContractSuite.RunAsync(new SuiteOptions { Target = receiver.Url, Secret = Secret });
            falseFailures.AddRange(report.Checks.Where(c => !c.Passed).Select(c => $"run {run}: {c.Event} {c.Check}: {c.Detail}"));

            // Pauses around the receiver's idle limit: the pooled connection closes just as a request leaves.
            for (var i = 0; i < 4; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(17 + i * 2));
                var result = await engine.SendAsync(receiver.Url, ContractSuite.WithNewEventId(sample), signer);
                if (!result.IsAccepted)
                {
                    falseFailures.Add($"run {run}: paused send {i}: {result.Evidence()}\n{lastTrace}");
                }
            }
        }
        Assert.True(falseFailures.Count == 0, string.Join(Environment.NewLine, falseFailures));
    }

    [Fact]
    public async Task Connections_are_kept_alive_where_the_receiver_allows_it()
    {
        await using var receiver = await TestReceiver.VerifyingAsync(Secret, _ => 200);
        var connections = 0;
        using var engine = new DeliveryEngine();
        var sample = ContractResources.ReadSample("booking.scheduled");
        for (var i = 0; i < 10; i++)
        {
            Assert.True((await engine.SendAsync(receiver.Url, sample, new WebhookSigner(Secret))).IsAccepted);
        }
        connections = receiver.Connections;
        // The first request's own connection tells that the receiver keeps connections; the other nine share one.
        Assert.Equal(2, connections);
    }

    [Fact]
    public async Task After_an_http10_answer_every_request_gets_a_new_connection()
    {
        await using var receiver = new RawReceiver(RawReceiver.Style.Http10CloseAfterAnswer, Secret);
        using var engine = new DeliveryEngine();
        var sample = ContractResources.ReadSample("booking.scheduled");
        for (var i = 0; i < 10; i++)
        {
            var result = await engine.SendAsync(receiver.Url, ContractSuite.WithNewEventId(sample), new WebhookSigner(Secret));
            Assert.True(result.IsAccepted, result.Evidence());
        }
        Assert.Equal(10, receiver.Requests);
        Assert.Equal(10, receiver.Connections);
    }

    [Fact]
    public async Task A_request_a_reused_connection_closed_unanswered_is_sent_once_more_on_a_new_one()
    {
        await using var receiver = new RawReceiver(RawReceiver.Style.DropsSecondRequestOnAConnection, Secret);
        var traces = new List<string>();
        using var engine = new DeliveryEngine(new DeliveryOptions { Trace = traces.Add });
        var sample = ContractResources.ReadSample("booking.scheduled");

        // 1: the first request, on its own connection; 2: the first on a pooled connection; 3: that
        // connection reused, and the receiver closes it unanswered.
        var results = new List<AttemptResult>();
        for (var i = 0; i < 3; i++)
        {
            results.Add(await engine.SendAsync(receiver.Url, ContractSuite.WithNewEventId(sample), new WebhookSigner(Secret)));
        }

        Assert.All(results, r => Assert.True(r.IsAccepted, r.Evidence()));
        Assert.Equal(3, receiver.Connections);
        Assert.Equal(4, receiver.Requests);
        Assert.DoesNotContain("new connection", traces[1], StringComparison.Ordinal);
        Assert.Contains("sent again on a new connection", traces[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_single_threaded_http10_receiver_passes_at_any_concurrency()
    {
        // Serving one connection at a time, it would wait on any spare connection a pool opened and
        // left idle; requests wait for the first answer instead of opening such connections.
        await using var receiver = new RawReceiver(RawReceiver.Style.Http10CloseAfterAnswer, Secret);
        for (var run = 0; run < 5; run++)
        {
            var report = await ContractSuite.RunAsync(new SuiteOptions
            {
                Target = receiver.Url,
                Secret = Secret,
                Concurrency = 4,
                Timeout = TimeSpan.FromSeconds(5),
            });
            Assert.True(report.Passed, string.Join(Environment.NewLine, report.Checks.Where(c => !c.Passed).Select(c => $"{c.Event} {c.Check}: {c.Detail}")));
        }
        Assert.Equal(receiver.Requests, receiver.Connections);
    }

    [Fact]
    public async Task Wall_time_against_a_100_ms_receiver_is_its_requests_one_after_another()
    {
        // Every request answered after 100 ms; at the default concurrency of 1 the critical path is all
        // the requests in a row, and the deadline, grown with requests / concurrency, never cuts it.
        await using var receiver = new RawReceiver(RawReceiver.Style.ClosesIdleAfter20Ms, Secret, TimeSpan.FromMilliseconds(100));
        var options = new SuiteOptions { Target = receiver.Url, Secret = Secret, Timeout = TimeSpan.FromSeconds(1) };

        var report = await ContractSuite.RunAsync(options);

        Assert.True(report.Passed, string.Join(Environment.NewLine, report.Checks.Where(c => !c.Passed).Select(c => c.Detail)));
        Assert.False(report.DeadlineReached);
        var requests = options.Requests;
        Assert.Equal(requests, receiver.Requests);
        Assert.True(report.WallTime >= TimeSpan.FromMilliseconds(100 * requests), $"{report.WallTime} for {requests} requests");
        Assert.True(options.Deadline > TimeSpan.FromMilliseconds(1000 * requests));
    }

    [Fact]
    public async Task A_closed_port_is_connection_refused_and_fails_answers_in_time()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var report = await ContractSuite.RunAsync(new SuiteOptions
        {
            Target = new Uri($"http://127.0.0.1:{port}/hook"),
            Secret = Secret,
            Events = [EventCatalog.Specific[0]],
        });

        var inTime = report.Checks.Single(c => c.Check == ContractChecks.AnswersInTime);
        Assert.Equal(CheckStatus.Failed, inTime.Status);
        Assert.Contains("connection refused", inTime.Detail, StringComparison.Ordinal);
        var accepted = report.Checks.Single(c => c.Check == ContractChecks.Accepted);
        Assert.Contains("disables the webhook", accepted.Detail, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Skipped, report.Checks.Single(c => c.Check == ContractChecks.Redelivery).Status);
    }

    [Fact]
    public async Task Https_to_a_plain_http_port_says_so()
    {
        await using var receiver = await TestReceiver.StartAsync((_, _) => Task.FromResult(200));
        var https = new UriBuilder(receiver.Url) { Scheme = "https" }.Uri;
        using var engine = new DeliveryEngine(new DeliveryOptions { AttemptTimeout = TimeSpan.FromSeconds(5) });

        var result = await engine.SendAsync(https, "{}"u8.ToArray(), new WebhookSigner(Secret));

        Assert.Equal(AttemptOutcome.ConnectionFailed, result.Outcome);
        Assert.Equal("TLS handshake failed: does the target speak plain HTTP?", result.Error);
    }

    [Fact]
    public async Task A_receiver_closing_before_answering_is_said_in_words()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closer = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var buffer = new byte[4096];
            var read = await client.GetStream().ReadAsync(buffer); // take the request, answer nothing
            Assert.True(read > 0);
        });
        using var engine = new DeliveryEngine();

        var result = await engine.SendAsync(new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/"), "{}"u8.ToArray(), new WebhookSigner(Secret));
        await closer;
        listener.Stop();

        Assert.Equal(AttemptOutcome.ConnectionFailed, result.Outcome);
        Assert.Contains(result.Error, new[] { "closed before answering", "connection reset before answering" });
    }
}
