using System.Security.Cryptography;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Suite;

/// <summary>
/// One check of the contract: its name (the same in the table, help, README and JUnit), what it means,
/// and, for a check that is one crafted request, how to make the request and what answer it expects.
/// </summary>
public sealed record ContractCheck(string Name, string Meaning, Probe? Probe = null);

/// <summary>What a probe's request is expected to get.</summary>
public enum ProbeExpectation
{
    /// <summary>A 4xx: refused, and not retried by OnceHub.</summary>
    Refusal,
    /// <summary>A 2xx: acknowledged.</summary>
    Acknowledgement,
}

/// <summary>The material a probe builds its request from.</summary>
/// <param name="Sample">The event's documented sample, as bytes.</param>
/// <param name="Signer">Signs with the webhook's secret.</param>
/// <param name="Options">The run's options.</param>
public sealed record ProbeInput(byte[] Sample, WebhookSigner Signer, SuiteOptions Options)
{
    /// <summary>The sample with a fresh event id, so no probe can look like a duplicate of another.</summary>
    public byte[] FreshBody() => ContractSuite.WithNewEventId(Sample);
}

/// <summary>The body and <c>Oncehub-Signature</c> (null: none) a probe sends.</summary>
public sealed record ProbeRequest(byte[] Body, string? Signature);

/// <summary>A check made of one crafted request.</summary>
/// <param name="Build">Makes the request.</param>
/// <param name="Expect">The answer that passes.</param>
/// <param name="What">What the request is, in words for a failure ("forged signatures").</param>
public sealed record Probe(Func<ProbeInput, ProbeRequest> Build, ProbeExpectation Expect, string What);

/// <summary>
/// The catalog of checks, in table order: those run for every event, then those run once on one booking's
/// lifecycle. Adding a check is one entry here (a probe's request and expectation, or a name the suite
/// computes itself).
/// </summary>
public static class ContractChecks
{
    public const string Accepted = "accepted";
    public const string Redelivery = "redelivery";
    public const string ForgedSignature = "forged-signature";
    public const string TamperedBody = "tampered-body";
    public const string MissingSignature = "missing-signature";
    public const string StaleTimestamp = "stale-timestamp";
    public const string AnswersInTime = "answers-in-time";
    public const string ForwardCompatible = ForwardCompatibilityCheck.Name;
    public const string OutOfOrder = OutOfOrderCheck.Name;

    /// <summary>The checks run for every selected event, in table order.</summary>
    public static IReadOnlyList<ContractCheck> PerEvent { get; } =
    [
        new(Accepted, "the documented sample, correctly signed, gets a 2xx (retried on OnceHub's schedule in virtual time; the report shows the attempt and offset)"),
        new(Redelivery, "the same event delivered again (same id, new signature) still gets a 2xx: OnceHub redelivers when an answer is lost"),
        new(ForgedSignature, "a signature made with another secret is refused with a 4xx", new Probe(static p =>
        {
            var body = p.FreshBody();
            return new ProbeRequest(body, new WebhookSigner(RandomNumberGenerator.GetHexString(32)).CreateHeader(body));
        }, ProbeExpectation.Refusal, "forged signatures")),
        new(TamperedBody, "a body changed after signing is refused with a 4xx", new Probe(static p =>
            new ProbeRequest(p.FreshBody(), p.Signer.CreateHeader(p.FreshBody())), ProbeExpectation.Refusal, "bodies changed after signing")),
        new(MissingSignature, "a delivery without Oncehub-Signature is refused with a 4xx", new Probe(static p =>
            new ProbeRequest(p.FreshBody(), null), ProbeExpectation.Refusal, "unsigned deliveries")),
        new(StaleTimestamp, "a correctly signed delivery with an old timestamp (replay) is refused with a 4xx", new Probe(static p =>
        {
            var body = p.FreshBody();
            return new ProbeRequest(body, p.Signer.CreateHeader(body, DateTimeOffset.UtcNow.Subtract(p.Options.StaleBy).ToUnixTimeSeconds()));
        }, ProbeExpectation.Refusal, "replayed (stale) deliveries")),
        new(ForwardCompatible, ForwardCompatibilityCheck.Meaning),
        new(AnswersInTime, "every request above got an answer (any status) within the per-request timeout"),
    ];

    /// <summary>The checks run once per run, on one booking's lifecycle, when its event types are selected.</summary>
    public static IReadOnlyList<ContractCheck> Lifecycle { get; } =
    [
        new(OutOfOrder, OutOfOrderCheck.Meaning),
    ];

    /// <summary>Every check: those per event, then those on the lifecycle.</summary>
    public static IReadOnlyList<ContractCheck> All { get; } = [.. PerEvent, .. Lifecycle];

    public static IEnumerable<ContractCheck> Probes => PerEvent.Where(c => c.Probe is not null);

    /// <summary>
    /// Requests a passing receiver gets for an event: the delivery, the redelivery, one per probe and one per
    /// payload of the forward-compatible check.
    /// </summary>
    public static int RequestsFor(EventType eventType) => 2 + Probes.Count() + ForwardCompatibilityCheck.Payloads(eventType).Count;
}
