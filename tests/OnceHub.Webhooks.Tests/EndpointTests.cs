using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.Events;
using OnceHub.TestSupport;

namespace OnceHub.Webhooks.Tests;

public sealed class EndpointTests
{
    private const string Secret = "endpoint-test-secret-0123456789abcdef";

    private static readonly HttpClient Http = new();

    private static Dictionary<string, string?> Config(params (string Key, string Value)[] extra)
    {
        var config = new Dictionary<string, string?> { ["OnceHub:Webhooks:Secrets:0"] = Secret, ["OnceHub:Webhooks:Store"] = "InMemory" };
        foreach (var (key, value) in extra)
        {
            config[key] = value;
        }
        return config;
    }

    internal static async Task<HttpResponseMessage> PostAsync(Uri url, byte[] body, string? secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        if (secret is not null)
        {
            request.Headers.TryAddWithoutValidation(WebhookSigner.HeaderName, new WebhookSigner(secret).CreateHeader(body));
        }
        return await Http.SendAsync(request);
    }

    private static byte[] Sample(string type) => ContractSuite.WithNewEventId(ContractResources.ReadSample(type));

    [Fact]
    public async Task Each_event_goes_to_the_most_specific_handler_once_and_a_duplicate_is_acknowledged_without_handling()
    {
        var calls = new List<string>();
        await using var host = await LibraryHost.StartAsync(Config(), h => h
            .On("booking.scheduled", (e, _) => Record(calls, "type:" + e.Type))
            .OnFamily(EventFamily.Booking, (e, _) => Record(calls, "family:" + e.Type))
            .On("conversation", (e, _) => Record(calls, "conversation-family:" + e.Type))
            .OnAnyEvent((e, _) => Record(calls, "any:" + e.Type)));

        var scheduled = Sample("booking.scheduled");
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host.Url, scheduled, Secret)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host.Url, Sample("booking.canceled"), Secret)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host.Url, Sample("conversation.started"), Secret)).StatusCode);
        var again = await PostAsync(host.Url, scheduled, Secret);

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("duplicate", await again.Content.ReadAsStringAsync());
        Assert.Equal(["type:booking.scheduled", "family:booking.canceled", "conversation-family:conversation.started"], calls);
    }

    [Fact]
    public async Task A_known_type_with_a_new_enum_value_is_handled_with_200_and_the_schema_finding_is_logged_as_a_warning_after_the_answer()
    {
        var handled = 0;
        await using var host = await LibraryHost.StartAsync(Config(), h => h.OnAnyEvent((_, _) => { Interlocked.Increment(ref handled); return Task.CompletedTask; }));
        var node = System.Text.Json.Nodes.JsonNode.Parse(Sample("booking.scheduled"))!;
        node["data"]!["status"] = "on_hold";
        var body = Encoding.UTF8.GetBytes(node.ToJsonString());

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host.Url, body, Secret)).StatusCode);
        Assert.Equal(1, handled);

        // The check runs off the request path: wait for it (bounded) rather than assume it ran before the answer.
        await Eventually.HoldsWithinAsync(() => host.Logs.Lines.Any(IsStatusFinding), TimeSpan.FromSeconds(10));
        Assert.Contains(host.Logs.Lines, IsStatusFinding);

        static bool IsStatusFinding((LogLevel Level, string Category, string Message, IReadOnlyList<KeyValuePair<string, object?>> Values) l) =>
            l.Level == LogLevel.Warning && l.Message.Contains("does not match the schema", StringComparison.Ordinal)
            && l.Values.Any(v => v.Key == "Path" && v.Value is string path && path.Contains("status", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_endpoint_with_its_own_secrets_accepts_only_those_and_not_the_configured_ones()
    {
        const string own = "endpoint-own-secret-fedcba9876543210";
        var handled = 0;
        await using var host = await LibraryHost.StartAsync(Config(), h => h
            .UseSecrets([own])
            .OnAnyEvent((_, _) => { Interlocked.Increment(ref handled); return Task.CompletedTask; }));

        var withOwn = await PostAsync(host.Url, Sample("booking.scheduled"), own);
        var withConfigured = await PostAsync(host.Url, Sample("booking.scheduled"), Secret);

        Assert.Equal(HttpStatusCode.OK, withOwn.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, withConfigured.StatusCode);
        Assert.Equal(1, handled);
        Assert.Throws<ArgumentException>(() => new OnceHubWebhookHandlers().UseSecrets([]));
        Assert.Throws<ArgumentException>(() => new OnceHubWebhookHandlers().UseSecrets([""]));
    }

    [Fact]
    public async Task A_delivery_signed_with_another_secret_is_refused_with_401_and_the_log_names_the_reason_but_no_secret()
    {
        var handled = 0;
        await using var host = await LibraryHost.StartAsync(Config(), h => h.OnAnyEvent((_, _) => { Interlocked.Increment(ref handled); return Task.CompletedTask; }));

        var forged = await PostAsync(host.Url, Sample("booking.scheduled"), "someone-elses-secret");
        var unsigned = await PostAsync(host.Url, Sample("booking.scheduled"), secret: null);

        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(0, handled);
        var refusals = host.Logs.Lines.Where(l => l.Message.StartsWith("Refused a delivery", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, refusals.Count);
        Assert.Contains(refusals, l => l.Values.Any(v => v.Key == "Reason" && v.Value is string r && r.Contains("does not match", StringComparison.Ordinal)));
        Assert.DoesNotContain(Secret, host.Logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("someone-elses-secret", host.Logs.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_the_configured_cap_gets_413_and_an_authentic_unreadable_one_is_quarantined_with_200()
    {
        await using var host = await LibraryHost.StartAsync(Config(("OnceHub:Webhooks:MaxBodyBytes", "2000")));

        var big = Encoding.UTF8.GetBytes("{\"id\":\"EVNT-BIG\",\"pad\":\"" + new string('x', 3000) + "\"}");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await PostAsync(host.Url, big, Secret)).StatusCode);

        var broken = Encoding.UTF8.GetBytes("{\"id\": \"EVNT-BROKEN1\", \"type\": \"booking.scheduled\",");
        var answer = await PostAsync(host.Url, broken, Secret);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        // The endpoint reads bodies into pooled buffers: the next delivery reuses the buffer, the entry keeps its copy.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(host.Url, Sample("booking.canceled"), Secret)).StatusCode);
        var entry = Assert.Single(await host.Services.GetRequiredService<IEventStore>().ListQuarantineAsync());
        Assert.Equal(broken, entry.Body);
        Assert.Contains(host.Logs.Lines, l => l.Level == LogLevel.Warning && l.Message.StartsWith("Quarantined", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_body_larger_than_the_first_read_buffer_reaches_the_handler_whole()
    {
        string? padding = null;
        await using var host = await LibraryHost.StartAsync(Config(), h => h.OnAnyEvent((e, _) =>
        {
            padding = e.Payload.GetProperty("padding").GetString();
            return Task.CompletedTask;
        }));
        // 40 KB: the body buffer grows several times while the request streams in.
        var node = System.Text.Json.Nodes.JsonNode.Parse(Sample("booking.scheduled"))!.AsObject();
        node["padding"] = string.Concat(Enumerable.Range(0, 4000).Select(i => $"{i:D9}|"));
        var body = Encoding.UTF8.GetBytes(node.ToJsonString());

        var answer = await PostAsync(host.Url, body, Secret);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("processed", await answer.Content.ReadAsStringAsync());
        Assert.Equal(node["padding"]!.GetValue<string>(), padding);
    }

    [Fact]
    public async Task A_second_delivery_while_the_first_is_being_handled_gets_409_and_the_event_is_handled_once()
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handled = 0;
        await using var host = await LibraryHost.StartAsync(Config(), h => h.OnAnyEvent(async (_, _) =>
        {
            Interlocked.Increment(ref handled);
            entered.TrySetResult();
            await release.Task;
        }));
        var body = Sample("booking.completed");

        var first = PostAsync(host.Url, body, Secret);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var second = await PostAsync(host.Url, body, Secret);
        release.SetResult();

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(1, handled);
    }

    [Fact]
    public async Task The_health_check_reports_the_store_healthy_and_unhealthy_once_it_stops_answering()
    {
        var store = new SqliteEventStore(null);
        await using var host = await LibraryHost.StartAsync(Config(), services: s => s.AddSingleton<IEventStore>(store));

        var healthy = await Http.GetAsync(host.HealthUrl);
        store.Dispose();
        var unhealthy = await Http.GetAsync(host.HealthUrl);

        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unhealthy.StatusCode);
        Assert.Contains(host.Logs.Lines, l => l.Message.Contains(OnceHubWebhookStoreHealthCheck.Name, StringComparison.Ordinal) && l.Level >= LogLevel.Error);
    }

    [Fact]
    public void Handlers_for_a_type_OnceHub_never_sends_or_registered_twice_are_refused_at_startup()
    {
        var handlers = new OnceHubWebhookHandlers().On("booking.scheduled", (_, _) => Task.CompletedTask);

        var unknown = Assert.Throws<ArgumentException>(() => handlers.On("booking.shceduled", (_, _) => Task.CompletedTask));
        Assert.Contains("'booking.shceduled' is not an event type OnceHub delivers", unknown.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => handlers.On("booking.scheduled", (_, _) => Task.CompletedTask));
        handlers.OnFamily(EventFamily.Booking, (_, _) => Task.CompletedTask);
        Assert.Throws<InvalidOperationException>(() => handlers.On("booking", (_, _) => Task.CompletedTask));
    }

    private static Task Record(List<string> calls, string call)
    {
        lock (calls)
        {
            calls.Add(call);
        }
        return Task.CompletedTask;
    }
}
