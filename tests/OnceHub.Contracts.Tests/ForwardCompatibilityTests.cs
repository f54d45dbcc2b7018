using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

public class ForwardCompatibilityTests
{
    private const string Secret = "forward-test-secret";

    private static readonly EventType[] TwoEvents =
        [.. EventCatalog.Specific.Where(e => e.Name is "booking.scheduled" or "conversation.closed")];

    private static Task<SuiteReport> RunAsync(Uri target) =>
        ContractSuite.RunAsync(new SuiteOptions { Target = target, Secret = Secret, Events = TwoEvents });

    private static CheckResult Forward(SuiteReport report, string eventName) =>
        report.Checks.Single(c => c.Event == eventName && c.Check == ContractChecks.ForwardCompatible);

    /// <summary>A receiver that verifies signatures (401) and then answers what <paramref name="judge"/> says of the payload.</summary>
    private static Task<TestReceiver> JudgingAsync(Func<JsonNode, int> judge)
    {
        var verifier = new SignatureVerifier(Secret);
        return TestReceiver.StartAsync((http, body) =>
        {
            var check = verifier.Verify(http.Request.Headers[WebhookSigner.HeaderName].ToString(), body);
            return Task.FromResult(check.IsValid ? judge(JsonNode.Parse(body)!) : 401);
        });
    }

    [Fact]
    public void Each_payload_is_a_variant_or_an_unknown_type_with_a_fresh_id()
    {
        foreach (var eventType in EventCatalog.Specific)
        {
            var payloads = ForwardCompatibilityCheck.Payloads(eventType);
            Assert.Equal(ContractResources.ReadVariants(eventType.Family).Count + 1, payloads.Count);
            var nodes = payloads.Select(p => JsonNode.Parse(p.Body)!).ToList();
            Assert.Equal(nodes.Count, nodes.Select(n => (string?)n["id"]).Distinct().Count());
            Assert.All(nodes, n => Assert.True(EventIds.IsUsable((string?)n["id"])));
            Assert.All(nodes[..^1], n => Assert.Equal(eventType.Name, (string?)n["type"]));
            var future = (string)nodes[^1]["type"]!;
            Assert.False(EventCatalog.IsSubscribable(future));
            Assert.StartsWith(eventType.Family.WireName() + ".", future, StringComparison.Ordinal);
            // Every payload is one OnceHub could send: valid, an unknown type being only a warning.
            Assert.All(payloads, p => Assert.Empty(PayloadValidator.Default.Validate(p.Body)));
        }
    }

    /// <summary>The event envelope as OnceHub's reference types it: every key a required, non-null string.</summary>
    private sealed record DocumentedEnvelope(string Id, string Object, string CreationTime, string Type, string ApiVersion);

    private static readonly JsonSerializerOptions Documented = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    [Fact]
    public async Task A_receiver_typing_the_envelope_as_documented_passes_verify()
    {
        await using var receiver = await JudgingAsync(p =>
        {
            try
            {
                return p.Deserialize<DocumentedEnvelope>(Documented) is null ? 400 : 200;
            }
            catch (JsonException)
            {
                return 400;
            }
        });

        var report = await ContractSuite.RunAsync(new SuiteOptions { Target = receiver.Url, Secret = Secret, Events = EventCatalog.Specific });

        Assert.All(report.Checks.Where(c => c.Check == ContractChecks.ForwardCompatible), c => Assert.True(c.Passed, $"{c.Event}: {c.Detail}"));
        Assert.True(report.Passed);
    }

    [Fact]
    public async Task A_receiver_refusing_a_null_subject_fails_verify()
    {
        await using var receiver = await JudgingAsync(p =>
            p["data"] is JsonObject data && data.ContainsKey("subject") && data["subject"] is null ? 400 : 200);

        var report = await RunAsync(receiver.Url);

        Assert.False(report.Passed);
        var check = Forward(report, "booking.scheduled");
        Assert.False(check.Passed);
        Assert.Contains("every-nullable-field-null got 400", check.Detail, StringComparison.Ordinal);
        Assert.Equal($"{ContractResources.ReadVariants(EventFamily.Booking).Count}/{ContractResources.ReadVariants(EventFamily.Booking).Count + 1}", check.Summary);
        // The documented samples themselves still get through: only the check for what OnceHub may send fails.
        Assert.All(report.Checks.Where(c => c.Check == ContractChecks.Accepted), c => Assert.True(c.Passed));
        Assert.True(Forward(report, "conversation.closed").Passed);
    }

    [Fact]
    public async Task A_receiver_refusing_unknown_types_fails_verify()
    {
        await using var receiver = await JudgingAsync(p => EventCatalog.IsDeliverable((string?)p["type"] ?? "") ? 200 : 400);

        var report = await RunAsync(receiver.Url);

        Assert.All(TwoEvents, e =>
        {
            var check = Forward(report, e.Name);
            Assert.False(check.Passed);
            Assert.Contains("unknown type", check.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain("variant", check.Detail, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_receiver_answering_503_a_few_times_first_still_passes()
    {
        var seen = new ConcurrentDictionary<string, int>();
        await using var receiver = await JudgingAsync(p => seen.AddOrUpdate((string)p["id"]!, 1, (_, n) => n + 1) <= 3 ? 503 : 200);

        var report = await RunAsync(receiver.Url);

        Assert.True(report.Passed, string.Join("; ", report.Checks.Where(c => !c.Passed).Select(c => c.Detail)));
        var check = Forward(report, "booking.scheduled");
        Assert.Contains("attempt 4", check.Detail, StringComparison.Ordinal);
        // Every forward-compatibility delivery had its own id and was retried on the schedule.
        Assert.True(seen.Count(kv => kv.Value == 4) >= ForwardCompatibilityCheck.Payloads(TwoEvents[0]).Count);
    }

    [Fact]
    public void The_check_is_registered_with_the_suite()
    {
        Assert.Contains(ContractChecks.All, c => c.Name == "forward-compatible");
        Assert.Equal(JsonValueKind.String, JsonDocument.Parse("\"" + ContractChecks.ForwardCompatible + "\"").RootElement.ValueKind);
    }
}
