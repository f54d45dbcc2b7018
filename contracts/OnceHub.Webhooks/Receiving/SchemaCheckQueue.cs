using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace OnceHub.Webhooks;

/// <summary>
/// Checks delivered payloads against the schemas after they are answered, on one background reader of a bounded
/// queue and up to a budget per second; findings are logged as warnings and never change an answer.
/// </summary>
/// <remarks>
/// Validation (NJsonSchema builds a string copy of the body and a token tree) costs more than the rest of the
/// request path, so under load it would take the CPU the answers need: what is over the budget is counted, not
/// checked, and the count is logged once a second.
/// </remarks>
internal sealed class SchemaCheckQueue(ILogger logger)
{
    /// <summary>Schema checks per second; deliveries over it are not checked.</summary>
    public const int ChecksPerSecond = 100;

    /// <summary>How many deliveries may wait for their check before further checks are dropped.</summary>
    public const int Capacity = 4096;

    private readonly record struct SchemaCheck(ReadOnlyMemory<byte> Body, string Id, string Type);

    private readonly Channel<SchemaCheck> _checks = Channel.CreateBounded<SchemaCheck>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private int _readerStarted;
    private readonly Lock _budgetGate = new();
    private long _budgetSecond;
    private int _budgetUsed;
    private int _budgetSkipped;

    /// <summary>Queues the check of one delivery's body, unless this second's budget is spent or the queue is full.</summary>
    public void Add(ReadOnlyMemory<byte> body, string id, string type)
    {
        if (Interlocked.Exchange(ref _readerStarted, 1) == 0)
        {
            _ = Task.Run(CheckAsync);
        }
        int skippedBefore;
        bool overBudget;
        lock (_budgetGate)
        {
            var second = Environment.TickCount64 / 1000;
            skippedBefore = 0;
            if (second != _budgetSecond)
            {
                skippedBefore = _budgetSkipped;
                (_budgetSecond, _budgetUsed, _budgetSkipped) = (second, 0, 0);
            }
            overBudget = ++_budgetUsed > ChecksPerSecond;
            if (overBudget)
            {
                _budgetSkipped++;
            }
        }
        if (skippedBefore > 0)
        {
            logger.LogDebug("{Skipped} deliveries in the last second were not checked against the schemas: the budget of {Budget} checks a second was spent",
                skippedBefore, ChecksPerSecond);
        }
        if (overBudget)
        {
            return;
        }
        // A copy: the caller may reuse its buffer once the answer is sent.
        if (!_checks.Writer.TryWrite(new SchemaCheck(body.ToArray(), id, type)))
        {
            logger.LogWarning("Event {EventId} ({EventType}) was not checked against the schemas: {Pending} checks already wait",
                id, type, Capacity);
        }
    }

    private async Task CheckAsync()
    {
        await foreach (var check in _checks.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            LogFindings(check.Body.Span, check.Id, check.Type);
        }
    }

    // Findings are only logged: the schema never decides an answer, so a failure of the validator itself
    // (for example in a trimmed app, where NJsonSchema's reflection may miss members) must not fail the event.
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "Validation only logs findings and is guarded; the answer never depends on it.")]
    private void LogFindings(ReadOnlySpan<byte> body, string id, string type)
    {
        PayloadReport report;
        try
        {
            report = PayloadValidator.Default.Check(body);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Event {EventId} ({EventType}) could not be checked against the schemas", id, type);
            return;
        }
        foreach (var finding in report.Errors.Concat(report.Warnings))
        {
            logger.LogWarning("Event {EventId} ({EventType}) does not match the schema at {Path}: {Rule}", id, type, finding.Path, finding.Rule);
        }
    }
}
