namespace OnceHub.LocalDelivery;

/// <summary>
/// The one clock of an account's deliveries (its delivery store's <c>clock</c> row): due times are stored on it,
/// so every process delivering from the account must run on it, or attempts would be skipped or sent late.
/// </summary>
public sealed partial class DeliveryStore
{
    // The end of this store's last hold on the clock (stored time), 0 when it holds none.
    private long _clockHeldUntil;

    /// <summary>
    /// The clock this process delivers on. The first deliverer of an account records its own; a later one whose
    /// <paramref name="wanted"/> differs gets the recorded clock when <paramref name="adopt"/>, takes the account
    /// over to its own when no deliverer holds the clock and nothing is pending, and is refused otherwise.
    /// </summary>
    /// <param name="wanted">The clock the process was started with.</param>
    /// <param name="adopt">True when the process was given no clock of its own and follows the account's.</param>
    /// <param name="realNow">The real time now: a hold that ended before it is a stopped deliverer's.</param>
    /// <param name="holdUntil">Until when this process holds the clock (renewed as it claims deliveries).</param>
    /// <exception cref="LocalDeliveryClockException">Another clock holds the account.</exception>
    internal DeliveryTime AgreeClock(DeliveryTime wanted, bool adopt, DateTimeOffset realNow, DateTimeOffset holdUntil)
    {
        _writer.WaitForQueuedWrites();
        return _writer.InTransaction(() =>
        {
            var recorded = _statements.ReadAll("SELECT virtual, scale, held_until FROM clock WHERE id = 0",
                r => (Virtual: r.GetInt64(0) != 0, Scale: r.GetDouble(1), HeldUntil: StoredTime.FromStored(r.GetInt64(2)))).FirstOrDefault();
            var matches = recorded.Virtual == wanted.IsVirtual && (wanted.IsVirtual || recorded.Scale == wanted.Scale);
            if (recorded.Scale == 0 || matches)
            {
                Hold(wanted, holdUntil);
                return wanted;
            }
            var account = recorded.Virtual ? DeliveryTime.Virtual()
                : recorded.Scale == 1 ? DeliveryTime.Real(wanted.Clock) : DeliveryTime.Scaled(recorded.Scale, wanted.Clock);
            if (adopt)
            {
                Hold(account, holdUntil);
                return account;
            }
            var busy = recorded.HeldUntil > realNow || _statements.Scalar(
                $"SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = {StateName.PendingSql}) OR EXISTS (SELECT 1 FROM fanouts)") is 1L;
            if (busy)
            {
                throw new LocalDeliveryClockException(System.IO.Path.GetDirectoryName(Path)!, account, wanted);
            }
            _statements.Execute("DELETE FROM clock");
            Hold(wanted, holdUntil);
            return wanted;
        });
    }

    /// <summary>
    /// Ends this store's hold on the clock (its deliverer stops), unless another process holds it longer; a
    /// process with another clock need not wait for the hold to lapse.
    /// </summary>
    internal void ReleaseClock(DateTimeOffset realNow)
    {
        if (Interlocked.Exchange(ref _clockHeldUntil, 0) is var mine and not 0)
        {
            _writer.WaitForQueuedWrites();
            _writer.Exclusive(() => _statements.Execute("UPDATE clock SET held_until = $now WHERE held_until = $mine",
                ("$now", StoredTime.ToStored(realNow)), ("$mine", mine)));
        }
    }

    /// <summary>Records <paramref name="time"/> as the account's clock, held until at least <paramref name="holdUntil"/>.</summary>
    private void Hold(DeliveryTime time, DateTimeOffset holdUntil)
    {
        _statements.Execute("""
            INSERT INTO clock (id, virtual, scale, held_until) VALUES (0, $virtual, $scale, $until)
            ON CONFLICT (id) DO UPDATE SET held_until = MAX(held_until, $until)
            """, ("$virtual", time.IsVirtual ? 1 : 0), ("$scale", time.Scale), ("$until", StoredTime.ToStored(holdUntil)));
        Volatile.Write(ref _clockHeldUntil, StoredTime.ToStored(holdUntil));
    }

    /// <summary>A running deliverer keeps holding the clock (in the transaction of its claim).</summary>
    private void RenewClockHold(DateTimeOffset holdUntil)
    {
        _statements.Execute("UPDATE clock SET held_until = MAX(held_until, $until)", ("$until", StoredTime.ToStored(holdUntil)));
        Volatile.Write(ref _clockHeldUntil, StoredTime.ToStored(holdUntil));
    }
}

/// <summary>
/// A process asked for another clock than the one its account's deliveries run on: an <see cref="ArgumentException"/>,
/// as the fix is in its options (bad input, exit 2).
/// </summary>
public sealed class LocalDeliveryClockException(string accountFolder, DeliveryTime account, DeliveryTime asked) : ArgumentException(
    $"the account '{accountFolder}' delivers in {account} (a deliverer runs on it, or deliveries are pending on that clock); " +
    $"this process asked for {asked}: {(account.IsVirtual ? "use --virtual-time" : account.Scale == 1 ? "drop --time-scale and --virtual-time" : $"use --time-scale {account.Scale:0.###}")}, " +
    "or give no time option to follow the account");
