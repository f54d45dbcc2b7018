using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Suite;

/// <summary>
/// The <c>forward-compatible</c> check: every variant of the event's family (every nullable field null,
/// booking calendar, expanded objects, API v1 ids...) delivered as this event, plus one event of a type
/// OnceHub has not published yet, each correctly signed with a fresh event id and retried on the schedule
/// like any delivery. Each must get through: a receiver that refuses a payload OnceHub really sends gets it
/// retried for days and then has its webhook disabled.
/// </summary>
public static class ForwardCompatibilityCheck
{
    public const string Name = "forward-compatible";

    public const string Meaning =
        "every documented variant of the event's family, and an event of an unknown future type, each correctly signed with a fresh id, gets a 2xx (retried on the schedule)";

    /// <summary>What the check delivers for <paramref name="eventType"/>: a label and the body (with a fresh id).</summary>
    public static IReadOnlyList<(string What, byte[] Body)> Payloads(EventType eventType)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        var payloads = ContractResources.ReadVariants(eventType.Family)
            .Select(v => ($"variant {v.Name}", Rewrite(v.Body, eventType.Name)))
            .ToList();
        // A name no catalog has: what OnceHub's next new type looks like to today's receiver.
        var future = $"{eventType.Family.WireName()}.future_{RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyz", 8)}";
        payloads.Add(($"unknown type {future}", Rewrite(ContractResources.ReadSample(eventType.Name), future)));
        return payloads;
    }

    /// <summary>Runs the check; also returns every attempt's answer, which <c>answers-in-time</c> counts too.</summary>
    public static async Task<(CheckResult Result, IReadOnlyList<(string What, AttemptResult Result)> Answers)> RunAsync(
        EventType eventType, Uri target, DeliveryEngine engine, WebhookSigner signer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var payloads = Payloads(eventType);
        var results = await Task.WhenAll(payloads.Select(p => engine.DeliverAsync(target, p.Body, signer, cancellationToken: cancellationToken)))
            .ConfigureAwait(false);
        var lines = payloads.Zip(results, (p, r) => (p.What, Result: r)).ToList();
        var answers = lines.SelectMany(l => l.Result.Attempts.Select(a => ($"{Name} {l.What} attempt {a.Attempt}", a.Result))).ToList();
        var elapsed = answers.Aggregate(TimeSpan.Zero, (sum, a) => sum + a.Result.Elapsed);
        var refused = lines.Where(l => !l.Result.Delivered).ToList();
        var summary = string.Create(CultureInfo.InvariantCulture, $"{lines.Count - refused.Count}/{lines.Count}");
        if (refused.Count == 0)
        {
            return (new CheckResult(eventType.Name, Name, CheckStatus.Passed, summary,
                "all accepted: " + string.Join("; ", lines.Select(l => $"{l.What} {Describe(l.Result)}")), elapsed), answers);
        }
        return (new CheckResult(eventType.Name, Name, CheckStatus.Failed, summary,
            "refused payloads OnceHub sends (retried for days, then the webhook is disabled): "
            + string.Join("; ", refused.Select(l => $"{l.What} got {string.Join(", ", l.Result.Attempts.Select(a => a.Result.Evidence()).Distinct())} in {l.Result.Attempts.Count} attempt(s)")),
            elapsed), answers);
    }

    private static string Describe(DeliveryResult result) =>
        result.AcceptedAttempt is { } ok
            ? string.Create(CultureInfo.InvariantCulture, $"({ok.Result.Evidence()}, attempt {ok.Attempt})")
            : "(not accepted)";

    private static byte[] Rewrite(byte[] payload, string type)
    {
        var node = JsonNode.Parse(payload)!.AsObject();
        node["id"] = ContractSuite.NewEventId();
        node["type"] = type;
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }
}
