using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Suite;

/// <summary>What to verify and how.</summary>
public sealed class SuiteOptions
{
    /// <summary>
    /// Requests in flight at once by default: one, because a single-threaded receiver (Python's
    /// <c>http.server</c>, a debugger on a breakpoint) serves one connection at a time, and a second kept-alive
    /// connection would wait behind the first until it timed out.
    /// </summary>
    public const int DefaultConcurrency = 1;

    /// <summary>
    /// Attempts in a row that time out before the run stops sending to the receiver: three timeouts are a verdict
    /// (a receiver that never answers, or one slower than the timeout), and the run ends in about three timeouts.
    /// </summary>
    public const int TimeoutsBeforeGivingUp = 3;

    public required Uri Target { get; init; }

    /// <summary>The webhook's signing secret, as the receiver knows it.</summary>
    public required string Secret { get; init; }

    /// <summary>Per-request limit (an assumption: OnceHub documents none); a slower answer fails "answers-in-time".</summary>
    public TimeSpan Timeout { get; init; } = DeliveryOptions.DefaultAttemptTimeout;

    /// <summary>The events to verify; by default every specific event of the catalog.</summary>
    public IReadOnlyList<EventType> Events { get; init; } = EventCatalog.Specific;

    /// <summary>How old the stale-timestamp probe's <c>t</c> is: well beyond any sane tolerance.</summary>
    public TimeSpan StaleBy { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How many requests may be in flight at once.</summary>
    public int Concurrency { get; init; } = DefaultConcurrency;

    /// <summary>Called with (finished, total) at the start and after each finished check; from any thread.</summary>
    public Action<int, int>? Progress { get; init; }

    /// <summary>Receives each request and its answer as text (verbose mode); signatures redacted.</summary>
    public Action<string>? Trace { get; init; }

    /// <summary>Whether the run includes the lifecycle's checks: when every event type of the lifecycle is selected.</summary>
    public bool RunsLifecycle => OutOfOrderCheck.AppliesTo(Events);

    /// <summary>The number of checks the run reports.</summary>
    public int CheckCount => (Events.Count * ContractChecks.PerEvent.Count) + (RunsLifecycle ? ContractChecks.Lifecycle.Count : 0);

    /// <summary>The requests a passing receiver gets in the run.</summary>
    public int Requests => Events.Sum(ContractChecks.RequestsFor) + (RunsLifecycle ? OutOfOrderCheck.Requests : 0);

    /// <summary>
    /// The run's wall-time bound: enough for every request a passing receiver gets to take the whole
    /// timeout, one wave of <see cref="Concurrency"/> requests after another, plus two timeouts of slack
    /// (at least 5 s). A slow but correct receiver is never failed by it; a receiver that never answers
    /// cannot hold the run for longer.
    /// </summary>
    public TimeSpan Deadline
    {
        get
        {
            var waves = (Requests + Concurrency - 1) / Math.Max(1, Concurrency);
            return TimeSpan.FromTicks(Math.Max(Timeout.Ticks * (waves + 2), TimeSpan.FromSeconds(5).Ticks));
        }
    }
}

/// <summary>How a check ended.</summary>
public enum CheckStatus
{
    Passed,
    Failed,
    /// <summary>Not tried, because an earlier check it depends on failed, or not finished when the run was interrupted; the detail says which.</summary>
    Skipped,
}

/// <summary>The outcome of one check for one event.</summary>
/// <param name="Event">Event type name.</param>
/// <param name="Check">One of <see cref="ContractChecks"/>.</param>
/// <param name="Status">Passed, failed or not tried.</param>
/// <param name="Summary">A few characters for a table cell, e.g. "401" or "#3 +215s".</param>
/// <param name="Detail">What happened with its evidence (status, time, the answer's first bytes) and, on failure, why it matters.</param>
/// <param name="Elapsed">Real time the receiver took to answer (summed over attempts).</param>
public sealed record CheckResult(string Event, string Check, CheckStatus Status, string Summary, string Detail, TimeSpan Elapsed)
{
    public bool Passed => Status == CheckStatus.Passed;
}

public sealed record EventReport(EventType Event, DeliveryResult Delivery, IReadOnlyList<CheckResult> Checks, TimeSpan SlowestAnswer)
{
    public bool Passed => Checks.All(c => c.Passed);
}

/// <summary>A run's results; when <c>Interrupted</c> (the caller canceled it), the checks it had not finished are skipped.</summary>
public sealed record SuiteReport(string Target, TimeSpan Timeout, IReadOnlyList<EventReport> Events, TimeSpan WallTime, bool DeadlineReached,
    bool Interrupted = false)
{
    /// <summary>The results of <see cref="ContractChecks.Lifecycle"/>, in catalog order; empty when the run did not include them.</summary>
    public IReadOnlyList<CheckResult> Lifecycle { get; init; } = [];

    /// <summary>Every result: each event's checks, then the lifecycle's.</summary>
    public IEnumerable<CheckResult> Checks => Events.SelectMany(e => e.Checks).Concat(Lifecycle);

    public int CheckCount => Checks.Count();

    public int FailureCount => Checks.Count(c => c.Status == CheckStatus.Failed);

    public int SkippedCount => Checks.Count(c => c.Status == CheckStatus.Skipped);

    public bool Passed => Checks.All(c => c.Passed);
}

/// <summary>
/// Runs OnceHub's webhook contract against a receiver endpoint: for every event, the documented sample
/// delivered on the retry schedule, a redelivery, the probes of <see cref="ContractChecks"/>, and answer
/// times; then, once, one booking's lifecycle out of order (<see cref="OutOfOrderCheck"/>). Events and the
/// lifecycle run concurrently, with at most <see cref="SuiteOptions.Concurrency"/> requests in flight; the
/// whole run is bounded by <see cref="SuiteOptions.Deadline"/>.
/// </summary>
public static class ContractSuite
{
    /// <summary>
    /// Runs the suite. Canceling <paramref name="cancellationToken"/> interrupts it: the report comes back with
    /// what finished before, and every check not finished by then is skipped as "interrupted".
    /// </summary>
    public static async Task<SuiteReport> RunAsync(SuiteOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1);
        var started = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Deadline);
        using var engine = new DeliveryEngine(new DeliveryOptions
        {
            AttemptTimeout = options.Timeout,
            MaxConcurrentRequests = options.Concurrency,
            StopAfterTimeoutsInARow = SuiteOptions.TimeoutsBeforeGivingUp,
            // Each request's trace starts with the event and check it belongs to.
            Trace = options.Trace is { } trace ? text => trace($"[{RequestLabel.Value}]\n{text}") : null,
        });
        var signer = new WebhookSigner(options.Secret);
        var progress = new ProgressCounter(options.Progress, options.CheckCount);

        var lifecycle = options.RunsLifecycle
            ? RunLifecycleAsync(options, engine, signer, progress, deadline.Token, cancellationToken)
            : Task.FromResult<IReadOnlyList<CheckResult>>([]);
        var reports = await Task.WhenAll(options.Events.Select(e =>
            RunEventAsync(e, options, engine, signer, progress, deadline.Token, cancellationToken))).ConfigureAwait(false);
        var lifecycleResults = await lifecycle.ConfigureAwait(false);
        var interrupted = cancellationToken.IsCancellationRequested;
        return new SuiteReport(DisplayTarget(options.Target), options.Timeout, reports, Stopwatch.GetElapsedTime(started),
            deadline.IsCancellationRequested && !interrupted, interrupted)
        {
            Lifecycle = lifecycleResults,
        };
    }

    private static async Task<IReadOnlyList<CheckResult>> RunLifecycleAsync(SuiteOptions options, DeliveryEngine engine, WebhookSigner signer,
        ProgressCounter progress, CancellationToken ct, CancellationToken interrupt)
    {
        var outOfOrder = Settle(await OutOfOrderCheck.RunAsync(options.Target, engine, signer, ct).ConfigureAwait(false), interrupt);
        progress.Step();
        return [outOfOrder];
    }

    /// <summary>A check that ends in failure after the interruption failed because it was cut short: it was not judged.</summary>
    private static CheckResult Settle(CheckResult result, CancellationToken interrupt) =>
        interrupt.IsCancellationRequested && result.Status == CheckStatus.Failed
            ? result with { Status = CheckStatus.Skipped, Summary = "interrupted", Detail = "interrupted before it finished" }
            : result;

    /// <summary>The target as shown in reports: without user info, which may hold credentials.</summary>
    public static string DisplayTarget(Uri target) =>
        target.IsAbsoluteUri && target.UserInfo.Length > 0
            ? new UriBuilder(target) { UserName = "", Password = "" }.Uri.ToString()
            : target.ToString();

    private static async Task<EventReport> RunEventAsync(EventType eventType, SuiteOptions options, DeliveryEngine engine,
        WebhookSigner signer, ProgressCounter progress, CancellationToken ct, CancellationToken interrupt)
    {
        CheckResult Settle(CheckResult result) => ContractSuite.Settle(result, interrupt);

        var sample = ContractResources.ReadSample(eventType.Name);
        var target = options.Target;
        var input = new ProbeInput(sample, signer, options);
        // The probes go out alongside the delivery; each carries a fresh event id, so a receiver that
        // wrongly accepts one cannot make a later request look like a harmless duplicate.
        var probes = ContractChecks.Probes.Select(c =>
        {
            var request = c.Probe!.Build(input);
            return (Check: c, Task: LabeledAsync($"{eventType.Name} {c.Name}", () => engine.PostAsync(target, request.Body, request.Signature, ct)));
        }).ToList();

        var forwardCompatible = LabeledAsync($"{eventType.Name} {ContractChecks.ForwardCompatible}",
            () => ForwardCompatibilityCheck.RunAsync(eventType, target, engine, signer, ct));

        var results = new Dictionary<string, CheckResult>(StringComparer.Ordinal);
        var answers = new List<(string What, AttemptResult Result)>();

        var body = WithNewEventId(sample);
        var delivery = await LabeledAsync($"{eventType.Name} {ContractChecks.Accepted}",
            () => engine.DeliverAsync(target, body, signer, cancellationToken: ct)).ConfigureAwait(false);
        results[ContractChecks.Accepted] = Settle(AcceptedCheck(eventType.Name, delivery, ct.IsCancellationRequested));
        progress.Step();
        answers.AddRange(delivery.Attempts.Select(a => ($"{ContractChecks.Accepted} attempt {a.Attempt}", a.Result)));

        if (delivery.Delivered)
        {
            var again = await LabeledAsync($"{eventType.Name} {ContractChecks.Redelivery}",
                () => engine.SendAsync(target, body, signer, ct)).ConfigureAwait(false);
            answers.Add((ContractChecks.Redelivery, again));
            results[ContractChecks.Redelivery] = Settle(new CheckResult(eventType.Name, ContractChecks.Redelivery,
                again.IsAccepted ? CheckStatus.Passed : CheckStatus.Failed, again.Short(),
                again.IsAccepted ? $"accepted again ({again.Evidence()})" : ExplainNotAccepted(again, "a redelivery"), again.Elapsed));
        }
        else if (interrupt.IsCancellationRequested)
        {
            results[ContractChecks.Redelivery] = new CheckResult(eventType.Name, ContractChecks.Redelivery, CheckStatus.Skipped, "interrupted",
                "interrupted before it finished", TimeSpan.Zero);
        }
        else
        {
            results[ContractChecks.Redelivery] = new CheckResult(eventType.Name, ContractChecks.Redelivery, CheckStatus.Skipped, "skipped",
                $"not tried: {ContractChecks.Accepted} never got a 2xx, so there is nothing to deliver again", TimeSpan.Zero);
        }
        progress.Step();

        foreach (var (check, task) in probes)
        {
            var result = await task.ConfigureAwait(false);
            answers.Add((check.Name, result));
            var (passed, detail) = check.Probe!.Expect == ProbeExpectation.Refusal
                ? ExpectRefusal(result, check.Probe.What)
                : ExpectAcknowledgement(result, check.Probe.What);
            results[check.Name] = Settle(new CheckResult(eventType.Name, check.Name, passed ? CheckStatus.Passed : CheckStatus.Failed,
                result.Short(), detail, result.Elapsed));
            progress.Step();
        }

        var (compatible, compatibleAnswers) = await forwardCompatible.ConfigureAwait(false);
        results[ContractChecks.ForwardCompatible] = Settle(compatible);
        answers.AddRange(compatibleAnswers);
        progress.Step();

        results[ContractChecks.AnswersInTime] = Settle(AnswersInTimeCheck(eventType.Name, answers, options.Timeout));
        progress.Step();
        var slowest = answers.Count == 0 ? TimeSpan.Zero : answers.Max(a => a.Result.Elapsed);
        return new EventReport(eventType, delivery, [.. ContractChecks.PerEvent.Select(c => results[c.Name])], slowest);
    }

    // The event and check of the request under way, for its trace lines: it flows into the engine's call.
    private static readonly AsyncLocal<string?> RequestLabel = new();

    internal static async Task<T> LabeledAsync<T>(string label, Func<Task<T>> call)
    {
        RequestLabel.Value = label;
        return await call().ConfigureAwait(false);
    }

    private static CheckResult AnswersInTimeCheck(string eventName, List<(string What, AttemptResult Result)> answers, TimeSpan timeout)
    {
        var unanswered = answers.Where(a => !a.Result.Answered).ToList();
        var slowest = answers.Where(a => a.Result.Answered).Select(a => a.Result.Elapsed).DefaultIfEmpty(TimeSpan.Zero).Max();
        if (answers.Count > 0 && unanswered.Count == 0)
        {
            return new CheckResult(eventName, ContractChecks.AnswersInTime, CheckStatus.Passed, Ms(slowest),
                $"{answers.Count} answers, the slowest in {Ms(slowest)} (limit {Seconds(timeout)})", slowest);
        }
        var detail = answers.Count == 0
            ? "no request finished before the run's deadline"
            : $"{unanswered.Count} of {answers.Count} requests got no answer within {Seconds(timeout)}: "
              + string.Join("; ", unanswered.GroupBy(u => u.Result.Error ?? u.Result.Describe())
                  .Select(g => g.Count() == 1 ? $"{g.First().What} ({g.Key})" : $"{g.Count()} x {g.Key} ({g.First().What}, ...)"));
        return new CheckResult(eventName, ContractChecks.AnswersInTime, CheckStatus.Failed,
            answers.Count == 0 ? "none" : $"{unanswered.Count} unanswered", detail, slowest);
    }

    private static CheckResult AcceptedCheck(string eventName, DeliveryResult delivery, bool deadlineReached)
    {
        var elapsed = delivery.Attempts.Aggregate(TimeSpan.Zero, (sum, a) => sum + a.Result.Elapsed);
        if (delivery.AcceptedAttempt is { } ok)
        {
            var before = delivery.Attempts.TakeWhile(a => !a.Result.IsAccepted).Select(a => a.Result.Describe()).ToList();
            var detail = $"attempt {ok.Attempt} at +{(long)ok.Offset.TotalSeconds} s ({ok.Result.Evidence()})";
            if (before.Count > 0)
            {
                detail += $" after {string.Join(", ", before)}";
            }
            return new CheckResult(eventName, ContractChecks.Accepted, CheckStatus.Passed, $"#{ok.Attempt} +{(long)ok.Offset.TotalSeconds}s", detail, elapsed);
        }
        var last = delivery.Attempts.Count == 0 ? "" : $"; last answer: {delivery.Attempts[^1].Result.Evidence()}";
        var why = delivery.WindowExhausted
            ? $"no 2xx in all {delivery.Attempts.Count} attempts over {RetrySchedule.Offsets[^1].TotalHours:0.##} h: OnceHub gives up on this event and disables the webhook, so later events are not delivered either until it is re-created or re-enabled"
            : deadlineReached
                ? $"no 2xx in {delivery.Attempts.Count} attempt(s) before the run's deadline"
                : $"no 2xx in {delivery.Attempts.Count} attempt(s)";
        var summary = delivery.WindowExhausted ? "none: disabled" : $"none in {delivery.Attempts.Count}";
        return new CheckResult(eventName, ContractChecks.Accepted, CheckStatus.Failed, summary, why + last, elapsed);
    }

    private static (bool Passed, string Detail) ExpectRefusal(AttemptResult r, string what) => r switch
    {
        { Outcome: AttemptOutcome.Refused, StatusCode: >= 400 and <= 499 } => (true, $"refused ({r.Evidence()})"),
        { Outcome: AttemptOutcome.Accepted } => (false, $"accepted ({r.Evidence()}): the receiver takes {what}"),
        { Outcome: AttemptOutcome.Refused, StatusCode: >= 500 } =>
            (false, $"{r.Evidence()}: a 5xx makes OnceHub retry for 72 h; refuse with a 4xx"),
        { Outcome: AttemptOutcome.Refused } => (false, $"{r.Evidence()}: expected a 4xx"),
        _ => (false, ExplainNotAccepted(r, "the probe")),
    };

    private static (bool Passed, string Detail) ExpectAcknowledgement(AttemptResult r, string what) => r.IsAccepted
        ? (true, $"acknowledged ({r.Evidence()})")
        : (false, r.Answered
            ? $"{r.Evidence()}: {what} must get a 2xx, or OnceHub retries for 72 h and then disables the webhook"
            : ExplainNotAccepted(r, "the probe"));

    private static string ExplainNotAccepted(AttemptResult r, string what) => r.Outcome switch
    {
        AttemptOutcome.TimedOut => $"no answer to {what} within the timeout ({r.Evidence()})",
        AttemptOutcome.Canceled => $"{what} did not finish before the run's deadline",
        AttemptOutcome.ConnectionFailed => $"{what}: {r.Evidence()}",
        _ => $"{what} got {r.Evidence()}, expected a 2xx",
    };

    /// <summary>The sample with a fresh event id and otherwise the same JSON.</summary>
    public static byte[] WithNewEventId(byte[] sample)
    {
        var node = JsonNode.Parse(sample)!.AsObject();
        node["id"] = NewEventId();
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    /// <summary>A fresh id in OnceHub's shape (EVNT- and 10 upper-case letters or digits).</summary>
    public static string NewEventId() => EventIds.NewId();

    private static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + " ms";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    private sealed class ProgressCounter
    {
        private readonly Action<int, int>? _report;
        private readonly int _total;
        private int _done;

        public ProgressCounter(Action<int, int>? report, int total)
        {
            _report = report;
            _total = total;
            // The total is known before any request: a progress display never shows "0/0".
            report?.Invoke(0, total);
        }

        public void Step() => _report?.Invoke(Interlocked.Increment(ref _done), _total);
    }
}
