using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.Events;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

public sealed class ReferenceReceiverTests : IDisposable
{
    private const string Secret = "receiver-test-secret";
    private static readonly HttpClient Http = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("oncehub-receiver-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static Task<HttpResponseMessage> PostAsync(Uri url, byte[] body, string? signature, CancellationToken cancellationToken = default)
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

    private static byte[] Changed(string sample, Action<JsonObject> change)
    {
        var node = JsonNode.Parse(Sample(sample))!.AsObject();
        change(node);
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    private static async Task<(HttpStatusCode Status, string Text)> SendSignedAsync(ReferenceReceiver receiver, byte[] body)
    {
        using var response = await PostAsync(receiver.Url, body, SignNow(body));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Processes_a_valid_delivery_once_and_acknowledges_redeliveries()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret] });
        Assert.Equal(IPAddress.Loopback.ToString(), receiver.Url.Host);
        var body = Sample();

        var first = await SendSignedAsync(receiver, body);
        var second = await SendSignedAsync(receiver, body);

        Assert.Equal((HttpStatusCode.OK, "processed"), first);
        Assert.Equal((HttpStatusCode.OK, "duplicate"), second);
        Assert.Equal(1, receiver.ProcessedCount);
        Assert.Equal(1, receiver.DuplicateCount);
    }

    [Fact]
    public async Task A_restart_does_not_process_an_event_twice()
    {
        var db = Path.Combine(_dir, "events.db");
        var body = Sample("conversation.closed");
        await using (var before = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret], Store = ReceiverStore.Sqlite(db) }))
        {
            Assert.Equal(HttpStatusCode.OK, (await SendSignedAsync(before, body)).Status);
            Assert.Equal(1, before.ProcessedCount);
        }
        await using var after = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret], Store = ReceiverStore.Sqlite(db) });
        Assert.Equal((HttpStatusCode.OK, "duplicate"), await SendSignedAsync(after, body));
        Assert.Equal(0, after.ProcessedCount);
    }

    [Fact]
    public async Task Refuses_forged_tampered_unsigned_and_stale_deliveries_with_401()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret] });
        var body = Sample();
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(body).Replace("Onboarding call", "Onboarding calL", StringComparison.Ordinal));
        Assert.NotEqual(body, tampered);
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
            Assert.DoesNotContain(Secret, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(5, receiver.Count(ReceiveOutcome.Refused));
        Assert.Empty(await receiver.Pipeline.Store.ListQuarantineAsync(includeReplayed: true));
    }

    [Fact]
    public async Task Accepts_the_previous_secret_during_a_rollover()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = ["new-secret", Secret] });
        var body = Sample();
        using var response = await PostAsync(receiver.Url, body, SignNow(body, Secret));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public static TheoryData<string> Variants() =>
        [.. Enum.GetValues<EventFamily>().SelectMany(ContractResources.ReadVariants).Select(v => v.ToString())];

    [Theory]
    [MemberData(nameof(Variants))]
    public async Task Every_variant_is_processed(string name)
    {
        var calls = 0;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            OnEvent = (_, _) =>
            {
                Interlocked.Increment(ref calls);
                return Task.CompletedTask;
            },
        });
        var variant = Enum.GetValues<EventFamily>().SelectMany(ContractResources.ReadVariants).Single(v => v.ToString() == name);
        Assert.Equal((HttpStatusCode.OK, "processed"), await SendSignedAsync(receiver, variant.Body));
        Assert.Equal(1, calls);
    }

    [Theory]
    [InlineData("{\"id\": \"EVNT-C0MMENT01\", // OnceHub never sends this\n \"type\": \"booking.scheduled\"}", "not strict JSON")]
    [InlineData("{\"id\": \"EVNT-TRA1L1NG01\", \"type\": \"booking.scheduled\",}", "not strict JSON")]
    [InlineData("not json at all", "not strict JSON")]
    [InlineData("[1, 2, 3]", "not a JSON object")]
    [InlineData("{\"type\": \"booking.scheduled\"}", "no usable event id")]
    [InlineData("{\"id\": \"EVNT-X\\n\", \"type\": \"booking.scheduled\"}", "no usable event id")]
    [InlineData("{\"id\": 12345, \"type\": \"booking.scheduled\"}", "no usable event id")]
    [InlineData("{\"id\": \"EVNT-N0TYPE01\"}", "no usable event type")]
    [InlineData("{\"id\": \"EVNT-N0TYPE02\", \"type\": 7}", "no usable event type")]
    public async Task An_authentic_body_the_receiver_cannot_use_is_quarantined_and_acknowledged(string body, string reason)
    {
        var logs = new CapturingLoggerFactory();
        var handled = 0;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            LoggerFactory = logs,
            OnEvent = (_, _) =>
            {
                Interlocked.Increment(ref handled);
                return Task.CompletedTask;
            },
        });
        var bytes = Encoding.UTF8.GetBytes(body);

        var (status, text) = await SendSignedAsync(receiver, bytes);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("quarantined", text, StringComparison.Ordinal);
        Assert.Equal(0, handled);
        var entry = Assert.Single(await receiver.Pipeline.Store.ListQuarantineAsync());
        Assert.Contains(reason, entry.Reason, StringComparison.Ordinal);
        Assert.Equal(bytes, entry.Body);
        Assert.Null(entry.ReplayedAt);
        Assert.Contains(logs.At(LogLevel.Warning), m => m.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_event_id_with_a_final_newline_is_not_a_second_event()
    {
        var handled = new List<string>();
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            OnEvent = (e, _) =>
            {
                lock (handled)
                {
                    handled.Add(e.Id);
                }
                return Task.CompletedTask;
            },
        });
        var plain = Changed("booking.scheduled", n => n["id"] = "EVNT-X");
        var newline = Changed("booking.scheduled", n => n["id"] = "EVNT-X\n");
        var tooLong = Changed("booking.scheduled", n => n["id"] = "EVNT-" + new string('Z', EventIds.MaxSuffixLength + 1));

        Assert.Equal((HttpStatusCode.OK, "processed"), await SendSignedAsync(receiver, plain));
        Assert.StartsWith("quarantined", (await SendSignedAsync(receiver, newline)).Text, StringComparison.Ordinal);
        Assert.StartsWith("quarantined", (await SendSignedAsync(receiver, tooLong)).Text, StringComparison.Ordinal);
        Assert.Equal(["EVNT-X"], handled);
    }

    [Fact]
    public async Task An_unknown_type_is_acknowledged_and_recorded_as_ignored()
    {
        var handled = 0;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            OnEvent = (_, _) =>
            {
                Interlocked.Increment(ref handled);
                return Task.CompletedTask;
            },
        });
        var body = Changed("booking.scheduled", n =>
        {
            n["id"] = "EVNT-FUTUR3TYP3";
            n["type"] = "booking.moved_to_another_planet";
        });

        var first = await SendSignedAsync(receiver, body);
        var again = await SendSignedAsync(receiver, body);

        Assert.Equal(HttpStatusCode.OK, first.Status);
        Assert.Contains("ignored", first.Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, again.Status);
        Assert.Equal(0, handled);
        Assert.Equal(SettledAs.Ignored, await receiver.Pipeline.Store.GetSettledAsync("EVNT-FUTUR3TYP3"));
        Assert.Empty(await receiver.Pipeline.Store.ListQuarantineAsync());
    }

    [Theory]
    [InlineData("status", "\"tentative\"", "$.data.status")]
    [InlineData("duration_minutes", "\"sixty\"", "$.data.duration_minutes")]
    [InlineData("owner", "42", "$.data.owner")]
    public async Task A_known_type_whose_data_breaks_the_schema_is_handled_with_a_warning(string field, string value, string path)
    {
        var logs = new CapturingLoggerFactory();
        ReceivedEvent? seen = null;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            LoggerFactory = logs,
            OnEvent = (e, _) =>
            {
                seen = e;
                return Task.CompletedTask;
            },
        });
        var body = Changed("booking.rescheduled", n => n["data"]![field] = JsonNode.Parse(value));

        Assert.Equal((HttpStatusCode.OK, "processed"), await SendSignedAsync(receiver, body));
        Assert.Equal(value, seen!.Payload.GetProperty("data").GetProperty(field).GetRawText());
        // The schema check runs after the answer, in the background: wait for its finding (bounded).
        bool Finding(string m) => m.Contains(path, StringComparison.Ordinal) && m.Contains("EVNT-", StringComparison.Ordinal);
        await Eventually.HoldsWithinAsync(() => logs.At(LogLevel.Warning).Any(Finding), TimeSpan.FromSeconds(10));
        Assert.Contains(logs.At(LogLevel.Warning), Finding);
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

        Assert.Equal(HttpStatusCode.InternalServerError, (await SendSignedAsync(receiver, body)).Status);
        Assert.Equal((HttpStatusCode.OK, "processed"), await SendSignedAsync(receiver, body));
        Assert.Equal(2, calls);
        Assert.Equal(1, receiver.ProcessedCount);
    }

    [Fact]
    public async Task A_poison_event_is_quarantined_after_5_handler_failures_and_can_be_replayed()
    {
        var logs = new CapturingLoggerFactory();
        var calls = 0;
        var fixedHandler = false;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            LoggerFactory = logs,
            OnEvent = (e, _) =>
            {
                Interlocked.Increment(ref calls);
                return Volatile.Read(ref fixedHandler) ? Task.CompletedTask : throw new FormatException("cannot map this booking");
            },
        });
        var body = Sample("booking.completed");

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 6; i++)
        {
            answers.Add((await SendSignedAsync(receiver, body)).Status);
        }

        // 4 failures are retried by OnceHub; the 5th is quarantined and acknowledged; the next is a duplicate.
        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.InternalServerError, 4), HttpStatusCode.OK, HttpStatusCode.OK], answers);
        Assert.Equal(5, calls);
        Assert.Equal(1, receiver.DuplicateCount);
        var entry = Assert.Single(await receiver.Pipeline.Store.ListQuarantineAsync());
        Assert.Equal("EVNT-C0MPL3T006", entry.EventId);
        Assert.Contains("failed 5 times", entry.Reason, StringComparison.Ordinal);
        Assert.Contains(logs.At(LogLevel.Error), m => m.Contains("Quarantined", StringComparison.Ordinal));

        Assert.Equal(ReplayOutcome.HandlerFailed, (await receiver.Pipeline.ReplayAsync(entry.Id)).Outcome);
        Volatile.Write(ref fixedHandler, true);
        Assert.Equal(ReplayOutcome.Replayed, (await receiver.Pipeline.ReplayAsync(entry.Id)).Outcome);
        Assert.Equal(ReplayOutcome.AlreadyReplayed, (await receiver.Pipeline.ReplayAsync(entry.Id)).Outcome);
        Assert.Equal(ReplayOutcome.NotFound, (await receiver.Pipeline.ReplayAsync(entry.Id + 100)).Outcome);
        Assert.Equal(7, calls);
        Assert.Empty(await receiver.Pipeline.Store.ListQuarantineAsync());
        Assert.Equal(SettledAs.Processed, await receiver.Pipeline.Store.GetSettledAsync("EVNT-C0MPL3T006"));
    }

    [Fact]
    public async Task A_redelivery_while_the_first_is_in_flight_is_not_acknowledged_and_a_failed_first_is_processed_later()
    {
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            OnEvent = async (e, _) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    firstStarted.SetResult();
                    await gate.Task;
                    throw new InvalidOperationException("the first delivery's processing fails");
                }
            },
        });
        var body = Sample("booking.canceled");

        var first = SendSignedAsync(receiver, body);
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var whileInFlight = await SendSignedAsync(receiver, body);
        gate.SetResult();
        var firstAnswer = await first;
        var later = await SendSignedAsync(receiver, body);

        Assert.Equal(HttpStatusCode.Conflict, whileInFlight.Status);
        Assert.Equal(HttpStatusCode.InternalServerError, firstAnswer.Status);
        Assert.Equal((HttpStatusCode.OK, "processed"), later);
        Assert.Equal(2, calls);
        Assert.Equal(1, receiver.ProcessedCount);
        Assert.Equal(0, receiver.DuplicateCount);
    }

    [Fact]
    public async Task An_in_flight_mark_expires_after_its_lease_so_a_crash_leaves_no_id_stuck()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            Clock = clock,
            InFlightLease = TimeSpan.FromMinutes(2),
            OnEvent = async (e, _) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    firstStarted.SetResult();
                    await gate.Task; // the "crashed" delivery never finishes until the test ends
                }
            },
        });
        var body = Sample("conversation.abandoned");
        var signer = new WebhookSigner(Secret);
        string Sign() => signer.CreateHeader(body, clock.GetUtcNow().ToUnixTimeSeconds());

        var stuck = PostAsync(receiver.Url, body, Sign());
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        clock.Advance(TimeSpan.FromMinutes(1));
        using (var withinLease = await PostAsync(receiver.Url, body, Sign()))
        {
            Assert.Equal(HttpStatusCode.Conflict, withinLease.StatusCode);
        }
        clock.Advance(TimeSpan.FromMinutes(1.5));
        using (var afterLease = await PostAsync(receiver.Url, body, Sign()))
        {
            Assert.Equal(HttpStatusCode.OK, afterLease.StatusCode);
            Assert.Equal("processed", await afterLease.Content.ReadAsStringAsync());
        }
        gate.SetResult();
        (await stuck).Dispose();
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_handler_cancelled_by_a_hang_up_leaves_the_event_for_the_retry()
    {
        var calls = 0;
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            OnEvent = async (e, ct) =>
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    started.SetResult();
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
            await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await impatient.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        }
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The retry is processed, not acknowledged as a duplicate of an event that never completed. Until the
        // receiver has released the id (just after the cancellation), the retry may get 409: OnceHub retries.
        var answer = "";
        for (var i = 0; i < 100 && answer != "processed"; i++)
        {
            var (status, text) = await SendSignedAsync(receiver, body);
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Conflict, $"unexpected {status}");
            answer = text;
            if (answer != "processed")
            {
                await Task.Delay(20);
            }
        }
        Assert.Equal("processed", answer);
        Assert.Equal(2, calls);
        Assert.Equal(1, receiver.ProcessedCount);
        Assert.Equal(0, receiver.DuplicateCount);
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
        Assert.Equal(HttpStatusCode.OK, (await SendSignedAsync(receiver, Sample("booking.no_show"))).Status);
        Assert.Equal("booking.no_show", seen!.Type);
        Assert.Equal("EVNT-N05H0WX007", seen.Id);
        Assert.Equal("BKNG-N05H0WX00007", seen.Payload.GetProperty("data").GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_body_over_the_cap_is_refused_with_413()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret], MaxBodyBytes = 2048 });
        var big = Changed("booking.scheduled", n => n["data"]!["subject"] = new string('x', 4096));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await SendSignedAsync(receiver, big)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendSignedAsync(receiver, Sample())).Status);
    }

    [Fact]
    public async Task A_delivery_without_a_signature_is_refused_before_its_body_is_read()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [Secret] });
        // Announce 1 MiB and send none of it: the answer comes from the headers alone.
        var answer = await RawHttp.SendHeadersOnlyAsync(receiver.Url, contentLength: 1024 * 1024, signature: null);
        Assert.StartsWith("HTTP/1.1 401", answer, StringComparison.Ordinal);
        var stale = new WebhookSigner(Secret).CreateHeader([], DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds());
        Assert.StartsWith("HTTP/1.1 401", await RawHttp.SendHeadersOnlyAsync(receiver.Url, 1024 * 1024, stale), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Needs_a_secret()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => ReferenceReceiver.StartAsync(new ReceiverOptions()));
    }
}
