using System.Globalization;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Scenarios;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Suite;

/// <summary>
/// The <c>out-of-order</c> check: one booking's lifecycle (a scenario, <see cref="OutOfOrderPlan"/>) delivered in each of
/// the orders retries produce, on a booking of its own per order; every step correctly signed with a fresh event id,
/// retried on the schedule like any delivery, and delivered before the next goes out. Every step must get through.
/// </summary>
public static class OutOfOrderCheck
{
    public const string Name = "out-of-order";

    /// <summary>What the check's row is called where events have theirs (the table, JUnit's classname).</summary>
    public const string Subject = "booking lifecycle";

    public const string Meaning =
        "one booking's lifecycle in the orders retries produce (booking.canceled before booking.scheduled, an earlier step again after a later one), "
        + "each step correctly signed with a fresh id, gets a 2xx (retried on the schedule). A webhook created partway through a booking's life never "
        + "receives its earlier events, so an unknown booking is normal; a 409 or 422 for it makes OnceHub retry for days and then disable the webhook";

    /// <summary>Whether a run over <paramref name="events"/> includes the check: every event type of the lifecycle is selected.</summary>
    public static bool AppliesTo(IEnumerable<EventType> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var selected = events.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        return OutOfOrderPlan.Default.Scenario.Events.All(selected.Contains);
    }

    /// <summary>Requests a passing receiver gets: one per step of every order.</summary>
    public static int Requests => OutOfOrderPlan.Default.Orders.Sum(o => o.Events.Count);

    /// <summary>Runs the check; the orders go out side by side, each on its own booking, each order's steps one after another.</summary>
    public static async Task<CheckResult> RunAsync(Uri target, DeliveryEngine engine, WebhookSigner signer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        var plan = OutOfOrderPlan.Default;
        var runs = await Task.WhenAll(plan.Orders.Select(o => DeliverAsync(plan, o, target, engine, signer, cancellationToken)))
            .ConfigureAwait(false);
        var elapsed = runs.SelectMany(r => r.Delivered).SelectMany(d => d.Result.Attempts)
            .Aggregate(TimeSpan.Zero, (sum, a) => sum + a.Result.Elapsed);
        var failed = runs.Where(r => r.Failed is not null).ToList();
        var summary = string.Create(CultureInfo.InvariantCulture, $"{runs.Length - failed.Count}/{runs.Length}");
        if (failed.Count == 0)
        {
            return new CheckResult(Subject, Name, CheckStatus.Passed, summary, "every step acknowledged: "
                + string.Join("; ", runs.Select(r => $"{r.Order.Name} ({string.Join(", ", r.Delivered.Select(d => $"{d.Step.EventType} {Accepted(d.Result)}"))})")),
                elapsed);
        }
        var why = failed.Any(r => r.Failed!.Result.WindowExhausted)
            ? "an event for a booking the receiver has not seen, or older than one it has, must still get a 2xx, or OnceHub retries it for days and then disables the webhook: "
            : "";
        return new CheckResult(Subject, Name, CheckStatus.Failed, summary, why + string.Join("; ", failed.Select(Explain)), elapsed);
    }

    private sealed record Delivery(int Position, ScenarioEvent Step, DeliveryResult Result);

    private sealed record OrderRun(DeliveryOrder Order, IReadOnlyList<Delivery> Delivered)
    {
        /// <summary>The step that did not get through: the order stops there, as OnceHub disables a webhook whose event it gave up on.</summary>
        public Delivery? Failed => Delivered.FirstOrDefault(d => !d.Result.Delivered);
    }

    private static async Task<OrderRun> DeliverAsync(OutOfOrderPlan plan, DeliveryOrder order, Uri target, DeliveryEngine engine,
        WebhookSigner signer, CancellationToken cancellationToken)
    {
        var steps = plan.Play(order, DateTimeOffset.UtcNow);
        var delivered = new List<Delivery>(steps.Count);
        for (var i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            var body = step.Payload();
            var result = await ContractSuite.LabeledAsync(
                string.Create(CultureInfo.InvariantCulture, $"{Subject} {Name} {order.Name} step {i + 1} {step.EventType}"),
                () => engine.DeliverAsync(target, body, signer, cancellationToken: cancellationToken)).ConfigureAwait(false);
            delivered.Add(new Delivery(i + 1, step, result));
            if (!result.Delivered)
            {
                break;
            }
        }
        return new OrderRun(order, delivered);
    }

    private static string Accepted(DeliveryResult result) =>
        result.AcceptedAttempt is { } ok
            ? string.Create(CultureInfo.InvariantCulture, $"{ok.Result.Describe()}{(ok.Attempt > 1 ? $" at attempt {ok.Attempt}" : "")}")
            : "not accepted";

    private static string Explain(OrderRun run)
    {
        var failed = run.Failed!;
        var attempts = failed.Result.Attempts;
        var last = attempts.Count == 0 ? "" : $", the last {attempts[^1].Result.Evidence()}";
        return string.Create(CultureInfo.InvariantCulture,
            $"order {run.Order.Name} ({run.Order.Sequence}): step {failed.Position} {failed.Step.EventType} not acknowledged in {attempts.Count} attempt(s){last}");
    }
}
