using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Signing;
using OnceHub.Events;

namespace OnceHub.Contracts.Suite;

/// <summary>What to verify and how.</summary>
public sealed class SuiteOptions
{
    public required Uri Target { get; init; }

    /// <summary>The webhook's signing secret, as the receiver knows it.</summary>
    public required string Secret { get; init; }

    /// <summary>Per-request limit; every answer slower than this fails the "answers-in-time" check.</summary>
    public TimeSpan Timeout { get; init; } = DeliveryOptions.DefaultAttemptTimeout;

    /// <summary>The events to verify; by default every specific event of the catalog.</summary>
    public IReadOnlyList<EventType> Events { get; init; } = EventCatalog.Specific;

    /// <summary>How old the stale-timestamp probe's <c>t</c> is: well beyond any sane tolerance.</summary>
    public TimeSpan StaleBy { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Called after each finished check with (finished, total); from any thread.</summary>
    public Action<int, int>? Progress { get; init; }

    /// <summary>
    /// The run's wall-time bound: 3 × <see cref="Timeout"/>, at least 5 s. Checks still waiting on the
    /// receiver then fail, so a receiver that never answers cannot hold the run.
    /// </summary>
    public TimeSpan Deadline => TimeSpan.FromTicks(Math.Max(Timeout.Ticks * 3, TimeSpan.FromSeconds(5).Ticks));
}

/// <summary>The checks run for every event, and why each matters.</summary>
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

    public static IReadOnlyList<(string Name, string Meaning)> All { get; } =
    [
        (Accepted, "the documented sample, correctly signed, gets a 2xx (retried on OnceHub's schedule in virtual time; the report shows the attempt and offset)"),
        (Redelivery, "the same event delivered again (same id, new signature) still gets a 2xx: OnceHub redelivers when an answer is lost"),
        (ForgedSignature, "a signature made with another secret is refused with a 4xx"),
        (TamperedBody, "a body changed after signing is refused with a 4xx"),
        (MissingSignature, "a delivery without Oncehub-Signature is refused with a 4xx"),
        (StaleTimestamp, "a correctly signed delivery with an old timestamp (replay) is refused with a 4xx"),
        (AnswersInTime, "every request above is answered within the timeout"),
        (ForwardCompatible, ForwardCompatibilityCheck.Meaning),
    ];
}

/// <summary>The outcome of one check for one event.</summary>
/// <param name="Event">Event type name.</param>
/// <param name="Check">One of <see cref="ContractChecks"/>.</param>
/// <param name="Passed">Whether the receiver honoured the contract here.</param>
/// <param name="Summary">A few characters for a table cell, e.g. "401" or "#3 +215s".</param>
/// <param name="Detail">One line saying what happened and, on failure, why it matters.</param>
/// <param name="Elapsed">Real time the receiver took to answer (summed over attempts).</param>
public sealed record CheckResult(string Event, string Check, bool Passed, string Summary, string Detail, TimeSpan Elapsed);

public sealed record EventReport(EventType Event, DeliveryResult Delivery, IReadOnlyList<CheckResult> Checks, TimeSpan SlowestAnswer)
{
    public bool Passed => Checks.All(c => c.Passed);
}

public sealed record SuiteReport(string Target, TimeSpan Timeout, IReadOnlyList<EventReport> Events, TimeSpan WallTime, bool DeadlineReached)
{
    public IEnumerable<CheckResult> Checks => Events.SelectMany(e => e.Checks);

    public int CheckCount => Checks.Count();

    public int FailureCount => Checks.Count(c => !c.Passed);

    public bool Passed => FailureCount == 0;
}

/// <summary>
/// Runs OnceHub's webhook contract against a receiver endpoint: for every event, the documented sample
/// delivered on the retry schedule, a redelivery, four kinds of bad signature, and answer times. Events
/// run concurrently; the whole run is bounded by <see cref="SuiteOptions.Deadline"/>.
/// </summary>
public static class ContractSuite
{
    public static async Task<SuiteReport> RunAsync(SuiteOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Deadline);
        using var engine = new DeliveryEngine(new DeliveryOptions { AttemptTimeout = options.Timeout });
        var signer = new WebhookSigner(options.Secret);
        var progress = new ProgressCounter(options.Progress, options.Events.Count * ContractChecks.All.Count);

        var reports = await Task.WhenAll(options.Events.Select(e =>
            RunEventAsync(e, options, engine, signer, progress, deadline.Token))).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return new SuiteReport(DisplayTarget(options.Target), options.Timeout, reports, Stopwatch.GetElapsedTime(started),
            deadline.IsCancellationRequested);
    }

    /// <summary>The target as shown in reports: without user info, which may hold credentials.</summary>
    public static string DisplayTarget(Uri target) =>
        target.IsAbsoluteUri && target.UserInfo.Length > 0
            ? new UriBuilder(target) { UserName = "", Password = "" }.Uri.ToString()
            : target.ToString();

    private static async Task<EventReport> RunEventAsync(EventType eventType, SuiteOptions options, DeliveryEngine engine,
        WebhookSigner signer, ProgressCounter progress, CancellationToken ct)
    {
        var sample = ContractResources.ReadSample(eventType.Name);
        var checks = new List<CheckResult>();
        var answers = new List<(string What, AttemptResult Result)>();
        var target = options.Target;

        // Every probe carries a fresh event id, so a receiver that wrongly accepts one cannot make a
        // later probe look like a harmless duplicate.
        var forgedBody = WithNewEventId(sample);
        var forged = engine.PostAsync(target, forgedBody,
            new WebhookSigner(RandomNumberGenerator.GetHexString(32)).CreateHeader(forgedBody), ct);

        var signedBody = WithNewEventId(sample);
        var tampered = engine.PostAsync(target, WithNewEventId(sample), signer.CreateHeader(signedBody), ct);

        var unsigned = engine.PostAsync(target, WithNewEventId(sample), null, ct);

        var staleBody = WithNewEventId(sample);
        var staleT = DateTimeOffset.UtcNow.Subtract(options.StaleBy).ToUnixTimeSeconds();
        var stale = engine.PostAsync(target, staleBody, signer.CreateHeader(staleBody, staleT), ct);

        var forwardCompatible = ForwardCompatibilityCheck.RunAsync(eventType, target, engine, signer, ct);

        var body = WithNewEventId(sample);
        var delivery = await engine.DeliverAsync(target, body, signer, cancellationToken: ct).ConfigureAwait(false);
        checks.Add(AcceptedCheck(eventType.Name, delivery, ct.IsCancellationRequested));
        progress.Step();
        foreach (var a in delivery.Attempts)
        {
            answers.Add(($"delivery attempt {a.Attempt}", a.Result));
        }

        if (delivery.Delivered)
        {
            var again = await engine.SendAsync(target, body, signer, ct).ConfigureAwait(false);
            answers.Add(("redelivery", again));
            checks.Add(new CheckResult(eventType.Name, ContractChecks.Redelivery, again.IsAccepted, again.Describe(),
                again.IsAccepted ? $"accepted again ({again.Describe()})" : ExplainNotAccepted(again, "a redelivery"), again.Elapsed));
        }
        else
        {
            checks.Add(new CheckResult(eventType.Name, ContractChecks.Redelivery, false, "skipped",
                "not tried: the first delivery never got a 2xx", TimeSpan.Zero));
        }
        progress.Step();

        foreach (var (name, task, what) in new[]
        {
            (ContractChecks.ForgedSignature, forged, "forged signatures"),
            (ContractChecks.TamperedBody, tampered, "bodies changed after signing"),
            (ContractChecks.MissingSignature, unsigned, "unsigned deliveries"),
            (ContractChecks.StaleTimestamp, stale, "replayed (stale) deliveries"),
        })
        {
            var result = await task.ConfigureAwait(false);
            answers.Add((name, result));
            var (passed, detail) = ExpectRefusal(result, what);
            checks.Add(new CheckResult(eventType.Name, name, passed, result.Describe(), detail, result.Elapsed));
            progress.Step();
        }

        var late = answers.Where(a => a.Result.Outcome is AttemptOutcome.TimedOut or AttemptOutcome.Canceled).ToList();
        var slowest = answers.Count == 0 ? TimeSpan.Zero : answers.Max(a => a.Result.Elapsed);
        checks.Add(new CheckResult(eventType.Name, ContractChecks.AnswersInTime, late.Count == 0,
            late.Count == 0 ? Ms(slowest) : $"{late.Count} late",
            late.Count == 0
                ? $"slowest answer {Ms(slowest)} (limit {Seconds(options.Timeout)})"
                : $"no answer within {Seconds(options.Timeout)} to: {string.Join(", ", late.Select(l => l.What))}",
            slowest));
        progress.Step();
        checks.Add(await forwardCompatible.ConfigureAwait(false));
        progress.Step();
        return new EventReport(eventType, delivery, checks, slowest);
    }

    private static CheckResult AcceptedCheck(string eventName, DeliveryResult delivery, bool deadlineReached)
    {
        var elapsed = delivery.Attempts.Aggregate(TimeSpan.Zero, (sum, a) => sum + a.Result.Elapsed);
        if (delivery.AcceptedAttempt is { } ok)
        {
            var before = delivery.Attempts.TakeWhile(a => !a.Result.IsAccepted).Select(a => a.Result.Describe()).ToList();
            var detail = $"attempt {ok.Attempt} at +{(long)ok.Offset.TotalSeconds} s ({ok.Result.Describe()})";
            if (before.Count > 0)
            {
                detail += $" after {string.Join(", ", before)}";
            }
            return new CheckResult(eventName, ContractChecks.Accepted, true, $"#{ok.Attempt} +{(long)ok.Offset.TotalSeconds}s", detail, elapsed);
        }
        var tried = string.Join(", ", delivery.Attempts.Select(a => a.Result.Describe()).Distinct());
        var why = delivery.Attempts.Count >= RetrySchedule.AttemptCount
            ? $"no 2xx in all {delivery.Attempts.Count} attempts over {RetrySchedule.Offsets[^1].TotalHours:0.##} h: OnceHub would drop this event"
            : deadlineReached
                ? $"no 2xx in {delivery.Attempts.Count} attempt(s) before the run's deadline"
                : $"no 2xx in {delivery.Attempts.Count} attempt(s)";
        return new CheckResult(eventName, ContractChecks.Accepted, false, $"none in {delivery.Attempts.Count}",
            tried.Length == 0 ? why : $"{why} (got {tried})", elapsed);
    }

    private static (bool Passed, string Detail) ExpectRefusal(AttemptResult r, string what) => r switch
    {
        { Outcome: AttemptOutcome.Refused, StatusCode: >= 400 and <= 499 } => (true, $"refused ({r.StatusCode})"),
        { Outcome: AttemptOutcome.Accepted } => (false, $"accepted ({r.StatusCode}): the receiver takes {what}"),
        { Outcome: AttemptOutcome.Refused, StatusCode: >= 500 } =>
            (false, $"{r.StatusCode}: a 5xx makes OnceHub retry for 72 h; refuse with a 4xx"),
        { Outcome: AttemptOutcome.Refused } => (false, $"{r.StatusCode}: expected a 4xx"),
        _ => (false, ExplainNotAccepted(r, "the probe")),
    };

    private static string ExplainNotAccepted(AttemptResult r, string what) => r.Outcome switch
    {
        AttemptOutcome.TimedOut => $"no answer to {what} within the timeout",
        AttemptOutcome.Canceled => $"{what} did not finish before the run's deadline",
        AttemptOutcome.ConnectionFailed => $"{what}: {r.Describe()}",
        _ => $"{what} got {r.Describe()}, expected a 2xx",
    };

    private static byte[] WithNewEventId(byte[] sample)
    {
        var node = JsonNode.Parse(sample)!.AsObject();
        node["id"] = NewEventId();
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    /// <summary>A fresh id in OnceHub's shape (EVNT- and 10 upper-case letters or digits).</summary>
    public static string NewEventId() =>
        "EVNT-" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10);

    private static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + " ms";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    private sealed class ProgressCounter(Action<int, int>? report, int total)
    {
        private int _done;

        public void Step()
        {
            var done = Interlocked.Increment(ref _done);
            report?.Invoke(done, total);
        }
    }
}
