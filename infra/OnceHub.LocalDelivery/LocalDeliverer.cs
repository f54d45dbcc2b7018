using OnceHub.Account;
using OnceHub.Contracts;
using OnceHub.Contracts.Delivery;

namespace OnceHub.LocalDelivery;

/// <summary>
/// Delivers the local account's events the way OnceHub does: to every webhook subscribed (composites honoured),
/// signed with that webhook's secret, retried on <see cref="RetrySchedule"/>; when the last attempt of the window
/// fails the webhook is disabled locally and its other pending deliveries are dropped. Every webhook gets the
/// same event id: an assumption, since OnceHub does not document whether a fan-out shares one.
/// </summary>
public sealed class LocalDeliverer : IDisposable
{
    private readonly IAccountStore _account;
    private readonly DeliveryStore _store;
    private readonly bool _ownsStores;
    private readonly EngineAdapter _engine;
    private readonly string _owner = $"{Environment.ProcessId}-{Guid.NewGuid():N}";
    private long _claims;
    // Fan-outs whose records are not committed yet: a trigger returns before that, so this bounds what waits.
    private const int MaxUnrecordedFanOuts = 16;
    private readonly SemaphoreSlim _unrecorded = new(MaxUnrecordedFanOuts, MaxUnrecordedFanOuts);
    // Who subscribes to what, for the account's webhooks as last read, so a trigger does not expand every
    // webhook's composites again.
    private Subscriptions? _subscriptions;
    // Each webhook's url parsed and signer keyed once, for as long as the account hands out the same webhook object
    // (an edited webhook is a new object).
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<StoredWebhook, PreparedWebhook> _prepared = new();
    // This deliverer's fan-outs still sending (id -> lease owner), whose leases one loop renews.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, string> _sending = new();
    private Task? _leaseRenewal;
    private readonly Lock _leaseGate = new();
    private readonly CancellationTokenSource _stopping = new();

    public LocalDeliverer(IAccountStore account, DeliveryStore store, LocalDeliveryOptions? options = null)
        : this(account, store, options, ownsStores: false)
    {
    }

    private LocalDeliverer(IAccountStore account, DeliveryStore store, LocalDeliveryOptions? options, bool ownsStores)
    {
        _account = account ?? throw new ArgumentNullException(nameof(account));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        Options = options ?? new LocalDeliveryOptions();
        if (Options.AttemptTimeout <= TimeSpan.Zero || Options.MaxConcurrentAttempts < 1 || Options.PollInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "attempt timeout, poll interval and concurrency must be positive");
        }
        _ownsStores = ownsStores;
        try
        {
            Options = Options with
            {
                // Agreeing takes no hold: only claiming retries does, so a process that sends attempt 1 alone (an
                // emulator without --deliver) never locks another clock out of an idle account.
                Time = store.AgreeClock(Options.Time, Options.FollowAccountClock, Options.WallClock.GetUtcNow()),
            };
        }
        catch when (ownsStores)
        {
            store.Dispose();
            throw;
        }
        _engine = new EngineAdapter(Options.AttemptTimeout, Options.WallClock);
    }

    /// <summary>Opens the file account in <paramref name="accountDirectory"/> and its delivery store.</summary>
    public static LocalDeliverer OpenFolder(string accountDirectory, LocalDeliveryOptions? options = null) =>
        new(new FileAccountStore(accountDirectory), new DeliveryStore(accountDirectory), options, ownsStores: true);

    public LocalDeliveryOptions Options { get; }

    public DeliveryStore Store => _store;

    public IAccountStore Account => _account;

    /// <summary>
    /// Builds a fresh <paramref name="eventName"/> event from its sample and the overrides, and sends attempt 1 to
    /// every enabled webhook subscribed to it (a disabled one's delivery ends dropped, unsent). Later attempts are
    /// left to <see cref="RunAsync"/>.
    /// </summary>
    /// <remarks>
    /// Returns once every attempt 1 was answered. Their records are committed just after, before any later read
    /// of this store (and before <see cref="DeliveryStore.Dispose"/> returns); a process killed in between sends
    /// those attempts again from its next start, which at-least-once allows.
    /// </remarks>
    /// <exception cref="ArgumentException">Not an event type OnceHub delivers.</exception>
    /// <exception cref="PayloadOverrideException">An override does not apply.</exception>
    public async Task<FanOutResult> TriggerAsync(string eventName, IEnumerable<PayloadOverride> overrides, CancellationToken cancellationToken = default)
    {
        var (eventId, body) = EventFactory.Create(eventName, overrides, Options.WallClock.GetUtcNow());
        return await FanOutAsync(eventId, eventName, body, SubscribedTo(eventName), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A new delivery of an event this account already delivered, with the same id and body: to
    /// <paramref name="webhookId"/>, or to every webhook that got it and is still in the account.
    /// </summary>
    /// <exception cref="LocalDeliveryException">Unknown event id or webhook id.</exception>
    public async Task<FanOutResult> ResendAsync(string eventId, string? webhookId, CancellationToken cancellationToken = default)
    {
        if (_store.FindEvent(eventId) is not { } stored)
        {
            throw new LocalDeliveryException($"No event '{eventId}' in this account's delivery log (see 'deliveries').");
        }
        var webhooks = _account.Snapshot().ToDictionary(w => w.Id, StringComparer.Ordinal);
        List<StoredWebhook> targets;
        if (webhookId is not null)
        {
            targets = webhooks.TryGetValue(webhookId, out var one)
                ? [one]
                : throw new LocalDeliveryException($"No webhook '{webhookId}' in the account.");
        }
        else
        {
            targets = [.. _store.WebhooksOf(eventId).Where(webhooks.ContainsKey).Select(id => webhooks[id])];
            if (targets.Count == 0)
            {
                throw new LocalDeliveryException($"None of the webhooks that got '{eventId}' is still in the account; name one with --webhook.");
            }
        }
        return await FanOutAsync(eventId, stored.Type, stored.Body, targets, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends due attempts until canceled; with <paramref name="eventId"/>, only that event's, returning when each
    /// of its deliveries has ended. Work written by other processes is picked up within <see cref="LocalDeliveryOptions.PollInterval"/>.
    /// </summary>
    public async Task RunAsync(string? eventId = null, CancellationToken cancellationToken = default)
    {
        var time = Options.Time;
        var inFlight = new HashSet<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                inFlight.RemoveWhere(t => t.IsCompleted);
                DateTimeOffset? nextDue;
                try
                {
                    var room = Options.MaxConcurrentAttempts - inFlight.Count;
                    if (room > 0)
                    {
                        var claimed = _store.ClaimDue(time.Clock.GetUtcNow(), Options.WallClock.GetUtcNow(), LeaseUntil(), room, eventId, NextClaimToken());
                        if (claimed.Count > 0)
                        {
                            var webhooks = _account.Snapshot().ToDictionary(w => w.Id, StringComparer.Ordinal);
                            foreach (var delivery in claimed)
                            {
                                inFlight.Add(AttemptAsync(delivery, webhooks.GetValueOrDefault(delivery.WebhookId), null, cancellationToken));
                            }
                            continue; // claim again at once: more may be due
                        }
                    }
                    if (eventId is not null && inFlight.Count == 0 && _store.PendingCount(eventId) == 0)
                    {
                        return;
                    }
                    nextDue = _store.NextDue(eventId, Options.WallClock.GetUtcNow());
                }
                catch (Exception ex) when (ex is LocalDeliveryException or AccountStoreException or Microsoft.Data.Sqlite.SqliteException)
                {
                    Options.OnError?.Invoke(ex.Message);
                    nextDue = null;
                }
                await WaitAsync(nextDue, inFlight, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: attempts in flight end as canceled and give their deliveries back.
        }
        finally
        {
            await Task.WhenAll(inFlight).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        // The semaphore is not disposed: a fan-out's records may still complete (and release it) afterwards. Nor is the
        // token source: the lease loop may still be reading it.
        _stopping.Cancel();
        _engine.Dispose();
        try
        {
            _store.ReleaseClock();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or Microsoft.Data.Sqlite.SqliteException)
        {
            // The store closed first, or is locked: the hold lapses on its own within a lease.
        }
        if (_ownsStores)
        {
            _store.Dispose();
        }
    }

    private async Task WaitAsync(DateTimeOffset? nextDue, HashSet<Task> inFlight, CancellationToken ct)
    {
        var time = Options.Time;
        var wait = nextDue is { } due ? due - time.Clock.GetUtcNow() : Options.PollInterval;
        // Delays count whole milliseconds (so does the store): round up, or a wait of a fraction of a millisecond
        // would complete without moving a virtual clock and the loop would spin short of the due time.
        wait = TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds));
        if (wait <= TimeSpan.Zero && inFlight.Count == 0)
        {
            return;
        }
        if (time.IsVirtual && inFlight.Count == 0 && nextDue is not null)
        {
            // Nothing is being sent: jump the virtual clock to the next due attempt.
            await Task.Delay(wait, time.Clock, ct).ConfigureAwait(false);
            return;
        }
        // Real or scaled time (or virtual time with attempts in flight): wait for the next due attempt, an attempt
        // to finish, or the poll interval, whichever comes first; the virtual clock never moves while attempts run.
        var clock = time.IsVirtual ? Options.WallClock : time.Clock;
        var limit = wait <= TimeSpan.Zero ? Options.PollInterval : TimeSpan.FromTicks(Math.Min(wait.Ticks, Options.PollInterval.Ticks));
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var delay = Task.Delay(limit, clock, timer.Token);
        await Task.WhenAny([delay, .. inFlight]).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
    }

    private IReadOnlyList<StoredWebhook> SubscribedTo(string eventName)
    {
        var webhooks = _account.Snapshot();
        var known = _subscriptions;
        if (known is null || !known.Describes(webhooks))
        {
            known = new Subscriptions(webhooks);
            _subscriptions = known;
        }
        return known.To(eventName);
    }

    private async Task<FanOutResult> FanOutAsync(string eventId, string eventType, byte[] body, IReadOnlyList<StoredWebhook> targets, CancellationToken ct)
    {
        var disabled = _store.DisabledNow();
        var now = Options.Time.Clock.GetUtcNow();
        await _unrecorded.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        List<ClaimedDelivery> claimed;
        var owner = NextClaimToken();
        try
        {
            // A disabled webhook gets its delivery too, dropped unsent, so the log shows why it got nothing.
            claimed = await _store.OpenFanOutAsync(eventId, eventType, body, Options.WallClock.GetUtcNow(), [.. targets.Select(w => w.Id)],
                now, owner, LeaseUntil()).ConfigureAwait(false);
        }
        catch
        {
            _unrecorded.Release();
            throw;
        }
        var fanOutId = claimed.Count == 0 ? null : claimed[0].FanOutId;
        var records = new FanOutRecords(_store, fanOutId);
        WebhookOutcome[] outcomes;
        if (fanOutId is { } id)
        {
            _sending[id] = owner;
            StartLeaseRenewal();
        }
        try
        {
            // Each attempt starts on this thread and runs up to its first wait for the receiver: no work item
            // per attempt. Beyond the process's limit of attempts in flight, the rest wait for room.
            using var room = claimed.Count > Options.MaxConcurrentAttempts
                ? new SemaphoreSlim(Options.MaxConcurrentAttempts, Options.MaxConcurrentAttempts)
                : null;
            var sends = new Task<WebhookOutcome>[claimed.Count];
            for (var i = 0; i < claimed.Count; i++)
            {
                sends[i] = disabled.ContainsKey(targets[i].Id) ? Task.FromResult(DropDisabled(claimed[i], targets[i], now, records))
                    : room is null ? AttemptAsync(claimed[i], targets[i], records, ct)
                    : WithinLimitAsync(room, claimed[i], targets[i], records, ct);
            }
            outcomes = await Task.WhenAll(sends).ConfigureAwait(false);
        }
        catch
        {
            // No records follow: the fan-out stays open, and is sent again once its lease ends.
            _unrecorded.Release();
            throw;
        }
        finally
        {
            if (fanOutId is { } sent)
            {
                // By id and owner: a fan-out row id may be reused once its row is gone (taken over by another
                // deliverer), and the entry is then another fan-out's.
                _sending.TryRemove(new KeyValuePair<long, string>(sent, owner));
            }
        }
        // Not awaited: the answers are known, and the records are committed before any later read of the store.
        _ = records.CloseAsync().ContinueWith(static (written, state) =>
        {
            var (self, eventId) = ((LocalDeliverer, string))state!;
            self._unrecorded.Release();
            if (written.Exception is { } failed)
            {
                // Nothing is lost: the fan-out stays open and its attempts 1 are sent again once its lease ends.
                self.Options.OnError?.Invoke($"The attempts of {eventId} could not be recorded; they will be sent again: {failed.GetBaseException().Message}");
            }
        }, (this, eventId), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return new FanOutResult(eventId, eventType, outcomes);
    }

    /// <summary>Nothing is sent to a webhook disabled locally, as OnceHub sends nothing to a disabled webhook; its delivery ends dropped.</summary>
    private static WebhookOutcome DropDisabled(ClaimedDelivery delivery, StoredWebhook webhook, DateTimeOffset now, FanOutRecords records)
    {
        records.Add(new AttemptRecord(delivery, 1, now, null, AttemptVerdict.Dropped, now, "dropped: the webhook is disabled"));
        return new WebhookOutcome(webhook.Id, webhook.Name, webhook.Url, WebhookOutcomeKind.SkippedDisabled, null, null, null);
    }

    private async Task<WebhookOutcome> WithinLimitAsync(SemaphoreSlim room, ClaimedDelivery delivery, StoredWebhook webhook, FanOutRecords batch, CancellationToken ct)
    {
        await room.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            return await AttemptAsync(delivery, webhook, batch, ct).ConfigureAwait(false);
        }
        finally
        {
            room.Release();
        }
    }

    /// <summary>
    /// Sends the attempt a claimed delivery is due for and records it, or adds the record to <paramref name="batch"/>
    /// for the caller to commit. Never throws for a receiver's failure.
    /// </summary>
    private async Task<WebhookOutcome> AttemptAsync(ClaimedDelivery delivery, StoredWebhook? webhook, FanOutRecords? batch, CancellationToken ct)
    {
        var time = Options.Time;
        var now = time.Clock.GetUtcNow();
        var prepared = webhook is null ? null : _prepared.GetValue(webhook, static w => new PreparedWebhook(w));
        if (webhook is null || prepared!.Target is not { } target)
        {
            var reason = webhook is null ? "dropped: the webhook is no longer in the account" : "dropped: the webhook's url is not absolute";
            if (delivery.FanOutId is null)
            {
                _store.Drop(delivery, now, reason);
            }
            else
            {
                batch!.Add(new AttemptRecord(delivery, 1, now, null, AttemptVerdict.Dropped, now, reason));
            }
            return new WebhookOutcome(delivery.WebhookId, webhook?.Name ?? "", webhook?.Url ?? "", WebhookOutcomeKind.Dropped, null, null, null);
        }
        var attempt = ScheduleCursor.AttemptToSend(delivery.NextAttempt, time.ScheduleElapsed(delivery.FirstAt, now));
        var result = await _engine.SendAsync(target, delivery.Body, prepared.Signer, ct).ConfigureAwait(false);
        if (result.Outcome == AttemptOutcome.Canceled)
        {
            if (delivery.FanOutId is null)
            {
                _store.Release(delivery.Id);
            }
            else
            {
                batch!.Add(new AttemptRecord(delivery, 1, now, null, AttemptVerdict.NotSent, delivery.FirstAt));
            }
            return new WebhookOutcome(webhook.Id, webhook.Name, webhook.Url, WebhookOutcomeKind.Interrupted, result, attempt, null);
        }
        var verdict = result.IsAccepted ? AttemptVerdict.Delivered
            : ScheduleCursor.IsLast(attempt) ? AttemptVerdict.WindowEnded
            : AttemptVerdict.Retry;
        var nextOffset = verdict == AttemptVerdict.Retry ? ScheduleCursor.OffsetOf(attempt + 1) : (TimeSpan?)null;
        var nextDue = nextOffset is { } offset ? time.DueAt(delivery.FirstAt, offset) : now;
        var record = new AttemptRecord(delivery, attempt, now, result, verdict, nextDue);
        if (batch is null)
        {
            await _store.RecordAttemptsAsync([record]).ConfigureAwait(false);
        }
        else
        {
            batch.Add(record);
        }
        return new WebhookOutcome(webhook.Id, webhook.Name, webhook.Url,
            verdict == AttemptVerdict.Delivered ? WebhookOutcomeKind.Delivered : WebhookOutcomeKind.RetryScheduled,
            result, nextOffset is null ? null : attempt + 1, nextOffset);
    }

    // A lease outlives the attempt it covers (timeout plus margin), so a killed holder's deliveries come back soon.
    private DateTimeOffset LeaseUntil() => Options.WallClock.GetUtcNow() + LeaseLength;

    private TimeSpan LeaseLength => Options.AttemptTimeout + TimeSpan.FromSeconds(5);

    /// <summary>Starts the renewal loop, or starts it again if it ended (it only ends once the deliverer is disposed).</summary>
    private void StartLeaseRenewal()
    {
        if (Volatile.Read(ref _leaseRenewal) is { IsCompleted: false })
        {
            return;
        }
        lock (_leaseGate)
        {
            if (_leaseRenewal is null or { IsCompleted: true })
            {
                _leaseRenewal = RenewLeasesAsync(_stopping.Token);
            }
        }
    }

    /// <summary>
    /// Every half lease, renews the leases of this deliverer's fan-outs still sending, in one write: their attempts
    /// may outlast one lease. One timer for the deliverer, as a timer per fan-out weighed on every trigger.
    /// </summary>
    private async Task RenewLeasesAsync(CancellationToken stop)
    {
        using var every = new PeriodicTimer(LeaseLength / 2, Options.WallClock);
        try
        {
            while (await every.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                if (_sending.IsEmpty)
                {
                    continue;
                }
                try
                {
                    await _store.RenewFanOutsAsync([.. _sending], LeaseUntil()).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Not fatal, and not the end of the loop, which serves every later fan-out: at worst a lease ends
                    // and another deliverer sends the attempts not recorded yet again.
                    Options.OnError?.Invoke($"The leases of fan-outs being sent could not be renewed: {ex.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The deliverer is disposed.
        }
    }

    private string NextClaimToken() => $"{_owner}-{Interlocked.Increment(ref _claims)}";
}
