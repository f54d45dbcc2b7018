using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Signing;

namespace OnceHub.Contracts.Tests;

public sealed class ReferenceReceiverTests : IDisposable
{
    private const string Secret = "receiver-test-secret";
    private static readonly HttpClient Http = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("oncehub-receiver-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Task<HttpResponseMessage> PostAsync(Uri url, byte[] body, string? signature, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation(WebhookSigner.HeaderName, signature);
        }
        return Http.SendAsync(request, cancellationToken);
    }

    private static string SignNow(byte[] body, string secret = Secret) => new WebhookSigner(secret).CreateHeader(body);

    private static byte[] Sample(string name = "booking.scheduled") => ContractResources.ReadSample(name);

    [Fact]
    public async Task Processes_a_valid_delivery_once_and_acknowledges_redeliveries()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret] });
        Assert.Equal(IPAddress.Loopback.ToString(), receiver.Url.Host);
        var body = Sample();

        using var first = await PostAsync(receiver.Url, body, SignNow(body));
        using var second = await PostAsync(receiver.Url, body, SignNow(body));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(1, receiver.ProcessedCount);
        Assert.Equal(1, receiver.DuplicateCount);
    }

    [Fact]
    public async Task A_restart_does_not_process_an_event_twice()
    {
        var db = Path.Combine(_dir, "events.db");
        var body = Sample("conversation.closed");
        await using (var before = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret], DatabasePath = db }))
        {
            using var response = await PostAsync(before.Url, body, SignNow(body));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(1, before.ProcessedCount);
        }
        await using var after = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret], DatabasePath = db });
        using var again = await PostAsync(after.Url, body, SignNow(body));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(0, after.ProcessedCount);
        Assert.Equal(1, after.DuplicateCount);
    }

    [Fact]
    public async Task Refuses_forged_tampered_unsigned_and_stale_deliveries_with_401()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret] });
        var body = Sample();
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("Live demo", "Live demO", StringComparison.Ordinal));
        var stale = new WebhookSigner(Secret).CreateHeader(body, DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds());

        foreach (var (payload, header) in new[]
        {
            (body, SignNow(body, "not-the-secret")),
            (tampered, SignNow(body)),
            (body, (string?)null),
            (body, stale),
            (body, "t=garbage"),
        })
        {
            using var response = await PostAsync(receiver.Url, payload, header);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        }
        Assert.Equal(0, receiver.ProcessedCount);
    }

    [Fact]
    public async Task Accepts_the_previous_secret_during_a_rollover()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = ["new-secret", Secret] });
        var body = Sample();
        using var response = await PostAsync(receiver.Url, body, SignNow(body, Secret));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Refuses_a_signed_but_invalid_payload_with_400_naming_the_path()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret] });
        var node = JsonNode.Parse(Sample())!;
        node["type"] = "booking";
        var body = Encoding.UTF8.GetBytes(node.ToJsonString());

        using var response = await PostAsync(receiver.Url, body, SignNow(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("$.type", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, receiver.ProcessedCount);
    }

    [Fact]
    public async Task A_failing_handler_answers_500_and_the_retry_is_processed()
    {
        var calls = 0;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            OnEvent = (e, _) => Interlocked.Increment(ref calls) == 1 ? throw new InvalidOperationException("downstream down") : Task.CompletedTask,
        });
        var body = Sample();

        using var first = await PostAsync(receiver.Url, body, SignNow(body));
        using var retry = await PostAsync(receiver.Url, body, SignNow(body));

        Assert.Equal(HttpStatusCode.InternalServerError, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(2, calls);
        Assert.Equal(1, receiver.ProcessedCount);
    }

    [Fact]
    public async Task A_handler_cancelled_by_a_hang_up_leaves_the_event_for_the_retry()
    {
        var calls = 0;
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            OnEvent = async (e, ct) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    finally
                    {
                        cancelled.TrySetResult();
                    }
                }
            },
        });
        var body = Sample();

        // The sender gives up while the handler runs, as OnceHub does after its timeout.
        using (var impatient = new CancellationTokenSource())
        {
            var first = PostAsync(receiver.Url, body, SignNow(body), impatient.Token);
            while (Volatile.Read(ref calls) == 0)
            {
                await Task.Delay(10);
            }
            await impatient.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        }
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The retry is processed, not acknowledged as a duplicate of an event that never completed.
        var processed = false;
        for (var i = 0; i < 100 && !processed; i++)
        {
            using var retry = await PostAsync(receiver.Url, body, SignNow(body));
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
            processed = await retry.Content.ReadAsStringAsync() == "processed";
            if (!processed)
            {
                await Task.Delay(20);
            }
        }
        Assert.True(processed, "every retry was taken for a duplicate of the cancelled delivery");
        Assert.Equal(2, calls);
        Assert.Equal(1, receiver.ProcessedCount);
    }

    [Fact]
    public async Task Handler_sees_the_event_id_and_type()
    {
        ReceivedEvent? seen = null;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            OnEvent = (e, _) =>
            {
                seen = e;
                return Task.CompletedTask;
            },
        });
        var body = Sample("booking.no_show");
        using var response = await PostAsync(receiver.Url, body, SignNow(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("booking.no_show", seen!.Type);
        Assert.Equal("EVNT-N05H0WX007", seen.Id);
        Assert.Equal("BKNG-N05H0WX00007", seen.Payload.GetProperty("data").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Needs_a_secret()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => ReferenceReceiver.StartAsync(new ReceiverOptions()));
    }
}
