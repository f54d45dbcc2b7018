using System.Globalization;
using static OnceHub.LocalDelivery.StoredTime;

namespace OnceHub.LocalDelivery;

/// <summary>What the store's readers ask: each first waits for this process's queued writes, so it sees them.</summary>
public sealed partial class DeliveryStore
{
    /// <summary>The stored event, or null when this account never delivered that id.</summary>
    public (string Type, byte[] Body)? FindEvent(string eventId)
    {
        _writer.WaitForQueuedWrites();
        return _writer.Exclusive(() => _statements.ReadAll("SELECT type, body FROM events WHERE id = $id",
            r => ((string Type, byte[] Body)?)(r.GetString(0), (byte[])r["body"]), ("$id", eventId)).FirstOrDefault());
    }

    /// <summary>The webhooks an event was delivered to, in delivery order.</summary>
    public IReadOnlyList<string> WebhooksOf(string eventId)
    {
        _writer.WaitForQueuedWrites();
        return _writer.Exclusive(() => _statements.ReadAll(
            "SELECT webhook_id FROM deliveries WHERE event_id = $id GROUP BY webhook_id ORDER BY MIN(id)", r => r.GetString(0), ("$id", eventId)));
    }

    /// <summary>
    /// The earliest due time among pending deliveries no live process holds (a fan-out whose sender died counts
    /// as due at its attempt 1), or null when there is none.
    /// </summary>
    public DateTimeOffset? NextDue(string? eventId, DateTimeOffset realNow)
    {
        _writer.WaitForQueuedWrites();
        return _writer.Exclusive(() => _statements.Scalar($"""
            SELECT MIN(due) FROM (
                SELECT MIN(next_due) AS due FROM deliveries
                WHERE status = {StateName.PendingSql} AND (lease_until IS NULL OR lease_until < $real) AND ($event IS NULL OR event_id = $event)
                  AND webhook_id NOT IN (SELECT webhook_id FROM disabled_webhooks)
                UNION ALL
                SELECT MIN(first_at) FROM fanouts WHERE lease_until < $real AND ($event IS NULL OR event_id = $event))
            """, ("$real", ToStored(realNow)), ("$event", eventId)) is long due ? FromStored(due) : (DateTimeOffset?)null);
    }

    /// <summary>Pending deliveries (of one event, or all), counting those of fan-outs whose attempt 1 is not recorded yet.</summary>
    public int PendingCount(string? eventId = null)
    {
        _writer.WaitForQueuedWrites();
        return _writer.Exclusive(() =>
        {
            var pending = Convert.ToInt32(_statements.Scalar(
                $"SELECT COUNT(*) FROM deliveries WHERE status = {StateName.PendingSql} AND ($event IS NULL OR event_id = $event)",
                ("$event", eventId)), CultureInfo.InvariantCulture);
            return pending + OpenFanOuts(eventId, null).Sum(f => f.Unrecorded.Count);
        });
    }

    /// <summary>
    /// The delivery log, oldest first (by the time each attempt started, then by delivery and attempt), optionally for
    /// one event and/or one webhook.
    /// </summary>
    public IReadOnlyList<DeliveryLogRow> Log(string? eventId = null, string? webhookId = null)
    {
        _writer.WaitForQueuedWrites();
        // The attempts logged in rows of their own, and the accepted attempts 1 of fan-outs logged on their delivery rows.
        return _writer.Exclusive(() => _statements.ReadAll("""
            SELECT delivery_id, event_id, event_type, webhook_id, attempt, scheduled_offset_ms, sent_at, outcome,
                   http_status, latency_ms, error, answer, id AS seq
            FROM attempts WHERE ($event IS NULL OR event_id = $event) AND ($webhook IS NULL OR webhook_id = $webhook)
            UNION ALL
            SELECT d.id, d.event_id, e.type, d.webhook_id, 1, $offset, d.first_sent_at, $accepted,
                   d.first_status, d.first_latency_ms, NULL, d.first_answer, 0
            FROM deliveries d JOIN events e ON e.id = d.event_id
            WHERE d.first_sent_at IS NOT NULL AND ($event IS NULL OR d.event_id = $event) AND ($webhook IS NULL OR d.webhook_id = $webhook)
            ORDER BY 7, 1, 5, 13
            """, r => new DeliveryLogRow(
                r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3),
                r.IsDBNull(4) ? null : r.GetInt32(4),
                r.IsDBNull(5) ? null : TimeSpan.FromMilliseconds(r.GetInt64(5)),
                FromStored(r.GetInt64(6)), r.GetString(7),
                r.IsDBNull(8) ? null : r.GetInt32(8),
                r.IsDBNull(9) ? null : TimeSpan.FromMilliseconds(r.GetDouble(9)),
                r.IsDBNull(10) ? null : r.GetString(10),
                r.IsDBNull(11) ? null : r.GetString(11)),
            ("$event", eventId), ("$webhook", webhookId), ("$offset", (long)ScheduleCursor.OffsetOf(1).TotalMilliseconds),
            ("$accepted", StateName.Of(LoggedOutcome.Accepted))));
    }

    /// <summary>
    /// Every delivery's state, oldest first, optionally for one event and/or one webhook; the deliveries of a fan-out
    /// whose attempts 1 are not recorded yet come last, pending, with id 0.
    /// </summary>
    public IReadOnlyList<DeliveryState> Deliveries(string? eventId = null, string? webhookId = null)
    {
        _writer.WaitForQueuedWrites();
        return _writer.Exclusive(() =>
        {
            var states = _statements.ReadAll("""
                SELECT d.id, d.event_id, e.type, d.webhook_id, d.status, d.attempts, d.next_slot, d.next_due, d.end_reason
                FROM deliveries d JOIN events e ON e.id = d.event_id
                WHERE ($event IS NULL OR d.event_id = $event) AND ($webhook IS NULL OR d.webhook_id = $webhook)
                ORDER BY d.id
                """, r => new DeliveryState(
                    r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), StateName.Parse<DeliveryStatus>(r.GetString(4)),
                    r.GetInt32(5), r.GetInt32(6), FromStored(r.GetInt64(7)), r.IsDBNull(8) ? null : r.GetString(8)),
                ("$event", eventId), ("$webhook", webhookId));
            // A fan-out not recorded yet (its sender is sending, or died): its deliveries have no row, so no id yet.
            foreach (var fanOut in OpenFanOuts(eventId, null))
            {
                states.AddRange(fanOut.Unrecorded.Where(w => webhookId is null || w == webhookId)
                    .Select(w => new DeliveryState(0, fanOut.EventId, fanOut.EventType, w, DeliveryStatus.Pending, 0, 1, fanOut.FirstAt, null)));
            }
            return states;
        });
    }

    /// <summary>Webhooks disabled locally, by id.</summary>
    public IReadOnlyDictionary<string, DisabledWebhook> Disabled()
    {
        _writer.WaitForQueuedWrites();
        return _disabled.Current();
    }

    /// <summary>
    /// <see cref="Disabled"/> read on a connection of its own (it neither waits for the writes nor delays them), or
    /// reused for a moment when this store disabled or enabled nothing since.
    /// </summary>
    internal IReadOnlyDictionary<string, DisabledWebhook> DisabledNow() => _disabled.Recent();
}
