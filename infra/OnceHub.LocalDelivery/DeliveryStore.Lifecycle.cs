using OnceHub.Contracts.Delivery;
using static OnceHub.LocalDelivery.StoredTime;

namespace OnceHub.LocalDelivery;

/// <summary>
/// A delivery's way through the store: opened by a fan-out or claimed when due, recorded after each attempt,
/// dropped or given back.
/// </summary>
/// <remarks>
/// A fan-out (attempt 1 of one event to its webhooks) is written twice: before any send, one row that names the
/// event and its webhooks, leased to the sender; after the answers, one delivery row per webhook in its state
/// after attempt 1, with the attempt's log, and the fan-out row is deleted. A fan-out whose lease ran out (its
/// sender was killed) becomes one pending delivery per webhook it had not recorded, with attempt 1 due: those
/// attempts are sent again, which at-least-once allows. One row before the sends instead of one per webhook, and
/// no rewrite of every row after them, is what lets a fan-out's sends start early.
/// <para>
/// A fan-out's attempt 1 that got a 2xx (the usual case) is logged on its delivery row (<c>first_*</c> columns)
/// instead of a row of its own: one row per delivery instead of two. <see cref="Log"/> reads both.
/// </para>
/// </remarks>
public sealed partial class DeliveryStore
{
    /// <summary>
    /// Stores the event (once per id) and a fan-out to <paramref name="webhookIds"/> leased to the caller for
    /// attempt 1, on the store's writer ahead of the attempt records queued (the sends wait for it, nothing waits
    /// for the records). Returns one delivery per webhook, to be recorded with <see cref="RecordAttemptsAsync"/>
    /// and closed there.
    /// </summary>
    internal async Task<List<ClaimedDelivery>> OpenFanOutAsync(string eventId, string eventType, byte[] body, DateTimeOffset createdAt,
        IReadOnlyList<string> webhookIds, DateTimeOffset firstAt, string leaseOwner, DateTimeOffset leaseUntil)
    {
        var fanOut = await _writer.EnqueueAsync(() => OpenFanOut(eventId, eventType, body, createdAt, webhookIds, firstAt, leaseOwner, leaseUntil),
            ahead: true).ConfigureAwait(false);
        var first = FromStored(ToStored(firstAt));
        var claimed = new List<ClaimedDelivery>(webhookIds.Count);
        foreach (var webhookId in webhookIds)
        {
            claimed.Add(new ClaimedDelivery(0, eventId, eventType, webhookId, first, 1, body, fanOut));
        }
        return claimed;
    }

    /// <summary>
    /// Moves the leases of open fan-outs (id, owner) to <paramref name="leaseUntil"/> while their sender is still
    /// sending: a fan-out to many slow receivers outlasts one lease, and another deliverer would otherwise send its
    /// attempts 1 again.
    /// </summary>
    internal Task RenewFanOutsAsync(IReadOnlyList<KeyValuePair<long, string>> fanOuts, DateTimeOffset leaseUntil) =>
        _writer.EnqueueAsync(() =>
        {
            foreach (var (id, owner) in fanOuts)
            {
                _statements.Execute("UPDATE fanouts SET lease_until = $lease WHERE id = $id AND lease_owner = $owner",
                    ("$lease", ToStored(leaseUntil)), ("$id", id), ("$owner", owner));
            }
            return 0;
        }, ahead: true);

    /// <summary>
    /// Logs attempts and moves their deliveries on, in one transaction of the store's writer (one commit for a
    /// fan-out's attempts 1; a kill before it re-sends them, which at-least-once allows). When the window ended,
    /// the delivery fails, its webhook is disabled and the webhook's other pending deliveries are dropped (each
    /// logged). A fan-out's delivery gets its row here, in its state after attempt 1;
    /// <paramref name="closeFanOut"/> ends that fan-out (every one of its deliveries is recorded) when
    /// <paramref name="mayClose"/>, asked on the writer just before, agrees.
    /// Returns how many other deliveries were dropped. A delivery that stopped being pending meanwhile (dropped by
    /// another process) only gets its log row.
    /// </summary>
    internal Task<int> RecordAttemptsAsync(IReadOnlyList<AttemptRecord> records, long? closeFanOut = null, Func<bool>? mayClose = null) =>
        _writer.EnqueueAsync(() => RecordAttempts(records, closeFanOut is { } id && (mayClose?.Invoke() ?? true) ? id : null));

    /// <summary>
    /// Leases up to <paramref name="max"/> pending deliveries due at <paramref name="now"/> whose webhook is not
    /// disabled and which no live process holds (a lease past <paramref name="realNow"/> is dead).
    /// </summary>
    internal IReadOnlyList<ClaimedDelivery> ClaimDue(DateTimeOffset now, DateTimeOffset realNow, DateTimeOffset leaseUntil, int max,
        string? eventId, string leaseOwner)
    {
        _writer.WaitForQueuedWrites();
        return _writer.InTransaction(() =>
        {
            RenewClockHold(leaseUntil);
            RecoverFanOuts(realNow, eventId);
            _statements.Execute($"""
                UPDATE deliveries SET lease_owner = $owner, lease_until = $lease
                WHERE id IN (
                    SELECT id FROM deliveries
                    WHERE status = {StateName.PendingSql} AND next_due <= $now AND (lease_until IS NULL OR lease_until < $real)
                      AND ($event IS NULL OR event_id = $event)
                      AND webhook_id NOT IN (SELECT webhook_id FROM disabled_webhooks)
                    ORDER BY next_due LIMIT $max)
                """, ("$owner", leaseOwner), ("$lease", ToStored(leaseUntil)), ("$now", ToStored(now)), ("$real", ToStored(realNow)),
                ("$event", eventId), ("$max", max));
            return _statements.ReadAll($"""
                SELECT d.id, d.event_id, e.type, d.webhook_id, d.first_at, d.next_slot, e.body
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE d.status = {StateName.PendingSql} AND d.lease_owner = $owner AND d.lease_until = $lease
                ORDER BY d.next_due
                """, r => new ClaimedDelivery(
                    r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), FromStored(r.GetInt64(4)), r.GetInt32(5), (byte[])r["body"]),
                ("$owner", leaseOwner), ("$lease", ToStored(leaseUntil)));
        });
    }

    /// <summary>Ends a pending delivery without an attempt (its webhook is gone), logged as dropped.</summary>
    internal void Drop(ClaimedDelivery delivery, DateTimeOffset at, string reason) =>
        _writer.InTransaction(() => DropPending(delivery.WebhookId, delivery.Id, at, reason));

    /// <summary>Gives a leased delivery back untouched (the process is stopping mid-attempt).</summary>
    internal void Release(long deliveryId) =>
        _writer.Exclusive(() => _statements.Execute("UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE id = $id", ("$id", deliveryId)));

    /// <summary>Clears a webhook's local disabled state; false when it was not disabled.</summary>
    public bool Enable(string webhookId)
    {
        _writer.WaitForQueuedWrites();
        return _writer.Exclusive(() =>
        {
            var enabled = _statements.Execute("DELETE FROM disabled_webhooks WHERE webhook_id = $id", ("$id", webhookId)) > 0;
            _disabled.Changed();
            return enabled;
        });
    }

    private long OpenFanOut(string eventId, string eventType, byte[] body, DateTimeOffset createdAt,
        IReadOnlyList<string> webhookIds, DateTimeOffset firstAt, string leaseOwner, DateTimeOffset leaseUntil)
    {
        foreach (var id in webhookIds)
        {
            if (id.Contains(WebhookSeparator, StringComparison.Ordinal))
            {
                throw new LocalDeliveryException($"The webhook id '{id.ReplaceLineEndings(" ")}' holds a line break; the account is damaged.");
            }
        }
        _insertEvent.Bind(1, eventId).Bind(2, eventType).Bind(3, body).Bind(4, ToStored(createdAt)).Insert();
        if (webhookIds.Count == 0)
        {
            return 0;
        }
        return _insertFanOut.Bind(1, eventId).Bind(2, string.Join(WebhookSeparator, webhookIds)).Bind(3, ToStored(firstAt))
            .Bind(4, leaseOwner).Bind(5, ToStored(leaseUntil)).Insert();
    }

    /// <summary>Open fan-outs (all, or those whose lease ended before <paramref name="leaseEndedBy"/>) with their webhooks not recorded yet.</summary>
    private List<(long Id, string EventId, string EventType, DateTimeOffset FirstAt, List<string> Unrecorded)> OpenFanOuts(string? eventId,
        DateTimeOffset? leaseEndedBy)
    {
        var fanOuts = _statements.ReadAll("""
            SELECT f.id, f.event_id, f.webhooks, f.first_at, e.type FROM fanouts f JOIN events e ON e.id = f.event_id
            WHERE ($event IS NULL OR f.event_id = $event) AND ($ended IS NULL OR f.lease_until < $ended)
            ORDER BY f.id
            """, r => (Id: r.GetInt64(0), EventId: r.GetString(1), Webhooks: r.GetString(2), FirstAt: FromStored(r.GetInt64(3)), Type: r.GetString(4)),
            ("$event", eventId), ("$ended", leaseEndedBy is { } at ? ToStored(at) : null));
        var result = new List<(long, string, string, DateTimeOffset, List<string>)>(fanOuts.Count);
        foreach (var fanOut in fanOuts)
        {
            var done = _statements.ReadAll("SELECT webhook_id FROM deliveries WHERE event_id = $event AND fanout_id = $fanout",
                r => r.GetString(0), ("$event", fanOut.EventId), ("$fanout", fanOut.Id)).ToHashSet(StringComparer.Ordinal);
            var unrecorded = fanOut.Webhooks.Length == 0 ? [] : fanOut.Webhooks.Split(WebhookSeparator).Where(w => !done.Contains(w)).ToList();
            result.Add((fanOut.Id, fanOut.EventId, fanOut.Type, fanOut.FirstAt, unrecorded));
        }
        return result;
    }

    /// <summary>
    /// Fan-outs whose sender's lease ended (it was killed or stopped between its sends and their record): each
    /// webhook not recorded gets a pending delivery with attempt 1 due, counted from the fan-out's attempt 1.
    /// </summary>
    private void RecoverFanOuts(DateTimeOffset realNow, string? eventId)
    {
        foreach (var (id, fanOutEvent, _, firstAt, unrecorded) in OpenFanOuts(eventId, realNow))
        {
            foreach (var webhookId in unrecorded)
            {
                _statements.Execute("""
                    INSERT INTO deliveries (event_id, webhook_id, status, first_at, next_slot, next_due, attempts, fanout_id)
                    VALUES ($event, $webhook, $pending, $first, 1, $first, 0, $fanout)
                    """, ("$event", fanOutEvent), ("$webhook", webhookId), ("$pending", StateName.Of(DeliveryStatus.Pending)),
                    ("$first", ToStored(firstAt)), ("$fanout", id));
            }
            CloseFanOut(id);
        }
    }

    private void CloseFanOut(long fanOutId) => _statements.Execute("DELETE FROM fanouts WHERE id = $id", ("$id", fanOutId));

    private int RecordAttempts(IReadOnlyList<AttemptRecord> records, long? closeFanOut)
    {
        var dropped = 0;
        foreach (var record in records)
        {
            dropped += record.Delivery.FanOutId is null ? Record(record) : RecordFanOut(record);
        }
        if (closeFanOut is { } fanOut)
        {
            CloseFanOut(fanOut);
        }
        return dropped;
    }

    private int Record(AttemptRecord record)
    {
        var (delivery, attempt, sentAt, result, verdict, nextDue, _) = record;
        InsertAttemptLog(delivery.Id, record);
        var (status, reason) = Ending(record);
        _statements.Execute($"""
            UPDATE deliveries SET status = $status, attempts = attempts + 1, next_slot = $next, next_due = $due,
                lease_owner = NULL, lease_until = NULL, ended_at = $ended, end_reason = $reason
            WHERE id = $id AND status = {StateName.PendingSql}
            """, ("$status", StateName.Of(status)), ("$next", verdict == AttemptVerdict.Retry ? attempt + 1 : attempt), ("$due", ToStored(nextDue)),
            ("$ended", status == DeliveryStatus.Pending ? null : ToStored(sentAt + result!.Elapsed)), ("$reason", reason), ("$id", delivery.Id));
        return verdict == AttemptVerdict.WindowEnded ? Disable(record) : 0;
    }

    /// <summary>A fan-out's delivery: its row, written once in its state after attempt 1 (or without one), and its log row.</summary>
    private int RecordFanOut(AttemptRecord record)
    {
        var (delivery, attempt, sentAt, result, verdict, nextDue, dropReason) = record;
        var attempted = verdict is not (AttemptVerdict.Dropped or AttemptVerdict.NotSent);
        var (status, reason) = Ending(record);
        // An accepted attempt 1 is logged on the row itself (see the remarks on the class).
        var onRow = verdict == AttemptVerdict.Delivered && attempt == 1;
        var id = _insertDelivery.Bind(1, delivery.EventId).Bind(2, delivery.WebhookId).Bind(3, StateName.Of(status)).Bind(4, ToStored(delivery.FirstAt))
            .Bind(5, verdict == AttemptVerdict.Retry ? attempt + 1 : attempt).Bind(6, ToStored(nextDue)).Bind(7, attempted ? 1 : 0)
            .Bind(8, status == DeliveryStatus.Pending ? null : ToStored(attempted ? sentAt + result!.Elapsed : sentAt)).Bind(9, reason)
            .Bind(10, delivery.FanOutId).Bind(11, onRow ? ToStored(sentAt) : (long?)null).Bind(12, onRow ? (long?)result!.StatusCode : null)
            .Bind(13, onRow ? result!.Elapsed.TotalMilliseconds : (double?)null).Bind(14, onRow ? result!.Body : null).Insert();
        if (onRow)
        {
            return 0;
        }
        if (verdict == AttemptVerdict.Dropped)
        {
            InsertDroppedLog(id, delivery.EventId, delivery.EventType, delivery.WebhookId, sentAt, dropReason);
        }
        else if (attempted)
        {
            InsertAttemptLog(id, record);
        }
        return verdict == AttemptVerdict.WindowEnded ? Disable(record) : 0;
    }

    private static (DeliveryStatus Status, string? Reason) Ending(AttemptRecord record) => record.Verdict switch
    {
        AttemptVerdict.Delivered => (DeliveryStatus.Delivered, $"attempt {record.Attempt} answered {record.Result!.StatusCode}"),
        AttemptVerdict.WindowEnded => (DeliveryStatus.Failed, $"no 2xx in {record.Attempt} attempts; the webhook was disabled"),
        AttemptVerdict.Dropped => (DeliveryStatus.Dropped, record.DropReason),
        _ => (DeliveryStatus.Pending, null),
    };

    /// <summary>The window ended: the webhook is disabled and its other pending deliveries are dropped.</summary>
    private int Disable(AttemptRecord record)
    {
        var endedAt = record.SentAt + record.Result!.Elapsed;
        _statements.Execute("INSERT OR REPLACE INTO disabled_webhooks (webhook_id, disabled_at, reason) VALUES ($id, $at, $reason)",
            ("$id", record.Delivery.WebhookId), ("$at", ToStored(endedAt)),
            ("$reason", $"the retry window of {record.Delivery.EventId} ended without a 2xx"));
        _disabled.Disabling();
        return DropPending(record.Delivery.WebhookId, null, endedAt, "dropped: the webhook was disabled");
    }

    private int DropPending(string webhookId, long? deliveryId, DateTimeOffset at, string reason)
    {
        var rows = _statements.ReadAll($"""
            SELECT d.id, d.event_id, e.type FROM deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.webhook_id = $webhook AND d.status = {StateName.PendingSql} AND ($delivery IS NULL OR d.id = $delivery)
            """, r => (Id: r.GetInt64(0), EventId: r.GetString(1), Type: r.GetString(2)), ("$webhook", webhookId), ("$delivery", deliveryId));
        foreach (var row in rows)
        {
            InsertDroppedLog(row.Id, row.EventId, row.Type, webhookId, at, reason);
            _statements.Execute("""
                UPDATE deliveries SET status = $dropped, lease_owner = NULL, lease_until = NULL, ended_at = $at, end_reason = $reason
                WHERE id = $id
                """, ("$dropped", StateName.Of(DeliveryStatus.Dropped)), ("$at", ToStored(at)), ("$reason", reason), ("$id", row.Id));
        }
        return rows.Count;
    }

    /// <summary>A delivery ended without an attempt: a log row with no attempt number, status or answer.</summary>
    private void InsertDroppedLog(long deliveryId, string eventId, string eventType, string webhookId, DateTimeOffset at, string? reason) =>
        InsertLog(deliveryId, eventId, eventType, webhookId, null, null, at, LoggedOutcome.Dropped, null, null, reason, null);

    private void InsertAttemptLog(long deliveryId, AttemptRecord record)
    {
        var (delivery, attempt, sentAt, result, _, _, _) = record;
        InsertLog(deliveryId, delivery.EventId, delivery.EventType, delivery.WebhookId, attempt,
            ScheduleCursor.OffsetOf(attempt), sentAt, StateName.Logged(result!.Outcome), result.StatusCode, result.Elapsed,
            result.Outcome is AttemptOutcome.Accepted or AttemptOutcome.Refused ? null : result.Describe(), result.Body);
    }

    private void InsertLog(long deliveryId, string eventId, string eventType, string webhookId, int? attempt,
        TimeSpan? offset, DateTimeOffset sentAt, LoggedOutcome outcome, int? status, TimeSpan? latency, string? error, string? answer) =>
        _insertLog.Bind(1, deliveryId).Bind(2, eventId).Bind(3, eventType).Bind(4, webhookId).Bind(5, (long?)attempt)
            .Bind(6, offset is { } o ? (long)o.TotalMilliseconds : null).Bind(7, ToStored(sentAt)).Bind(8, StateName.Of(outcome)).Bind(9, (long?)status)
            .Bind(10, latency?.TotalMilliseconds).Bind(11, error).Bind(12, answer).Insert();
}
