namespace OnceHub.LocalDelivery;

/// <summary>
/// The one clock of an account's deliveries (its delivery store's <c>clock</c> row): due times are stored on it,
/// so every process delivering from the account must run on it, or attempts would be skipped or sent late.
/// </summary>
public sealed partial class DeliveryStore
{
    // Each store holds the clock under an owner of its own, so one process stopping never ends another's hold.
    private readonly string _clockOwner = Guid.NewGuid().ToString("N");
    private int _holdsClock;

    /// <summary>
    /// The clock this process delivers on. The first deliverer of an account records its own; a later one whose
    /// <paramref name="wanted"/> differs gets the recorded clock when <paramref name="adopt"/>, takes the account
    /// over to its own when no deliverer holds the clock and nothing is pending, and is refused otherwise.
    /// </summary>
    /// <param name="wanted">The clock the process was started with.</param>
    /// <param name="adopt">True when the process was given no clock of its own and follows the account's.</param>
    /// <param name="realNow">The real time now: a hold that ended before it is a stopped deliverer's.</param>
    /// <exception cref="LocalDeliveryClockException">Another clock holds the account.</exception>
    internal DeliveryTime AgreeClock(DeliveryTime wanted, bool adopt, DateTimeOffset realNow)
    {
        _writer.WaitForQueuedWrites();
        return _writer.InTransaction(() =>
        {
            var recorded = _statements.ReadAll("SELECT virtual, scale FROM clock WHERE id = 0",
                r => (Virtual: r.GetInt64(0) != 0, Scale: r.GetDouble(1))).FirstOrDefault();
            var held = _statements.Scalar("SELECT EXISTS (SELECT 1 FROM clock_holds WHERE held_until > $real AND owner <> $me)",
                ("$real", StoredTime.ToStored(realNow)), ("$me", _clockOwner)) is 1L;
            if (recorded.Scale == 0)
            {
                Record(wanted);
                return wanted;
            }
            var account = recorded.Virtual ? DeliveryTime.Virtual()
                : recorded.Scale == 1 ? DeliveryTime.Real(wanted.Clock) : DeliveryTime.Scaled(recorded.Scale, wanted.Clock);
            // A virtual clock lives in the process that jumps it: a second one would start behind it and skip attempts.
            if (account.IsVirtual && held)
            {
                throw new LocalDeliveryClockException(System.IO.Path.GetDirectoryName(Path)!, account, wanted, virtualInUse: true);
            }
            var matches = recorded.Virtual == wanted.IsVirtual && (wanted.IsVirtual || recorded.Scale == wanted.Scale);
            if (matches || adopt)
            {
                return matches ? wanted : account;
            }
            var busy = held || _statements.Scalar(
                $"SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = {StateName.PendingSql}) OR EXISTS (SELECT 1 FROM fanouts)") is 1L;
            if (busy)
            {
                throw new LocalDeliveryClockException(System.IO.Path.GetDirectoryName(Path)!, account, wanted);
            }
            _statements.Execute("DELETE FROM clock_holds");
            Record(wanted);
            return wanted;
        });
    }

    /// <summary>Ends this store's hold on the clock (its deliverer stops); other processes' holds stay.</summary>
    internal void ReleaseClock()
    {
        if (Interlocked.Exchange(ref _holdsClock, 0) == 1)
        {
            _writer.WaitForQueuedWrites();
            _writer.Exclusive(() => _statements.Execute("DELETE FROM clock_holds WHERE owner = $me", ("$me", _clockOwner)));
        }
    }

    private void Record(DeliveryTime time) =>
        _statements.Execute("INSERT OR REPLACE INTO clock (id, virtual, scale) VALUES (0, $virtual, $scale)",
            ("$virtual", time.IsVirtual ? 1 : 0), ("$scale", time.Scale));

    /// <summary>A running deliverer holds the clock (in the transaction of its claim) until <paramref name="holdUntil"/>.</summary>
    private void RenewClockHold(DateTimeOffset holdUntil)
    {
        _statements.Execute("INSERT OR REPLACE INTO clock_holds (owner, held_until) VALUES ($me, $until)",
            ("$me", _clockOwner), ("$until", StoredTime.ToStored(holdUntil)));
        Volatile.Write(ref _holdsClock, 1);
    }
}

/// <summary>
/// A process asked for another clock than the one its account's deliveries run on: an <see cref="ArgumentException"/>,
/// as the fix is in its options (bad input, exit 2).
/// </summary>
public sealed class LocalDeliveryClockException(string accountFolder, DeliveryTime account, DeliveryTime asked, bool virtualInUse = false)
    : ArgumentException(virtualInUse
        ? $"the account '{accountFolder}' delivers in virtual time in another process, and a virtual clock cannot be shared: " +
          "stop that process, or trigger through it (--api)"
        : $"the account '{accountFolder}' delivers in {account} (a deliverer runs on it, or deliveries are pending on that clock); " +
          $"this process asked for {asked}: {(account.IsVirtual ? "use --virtual-time" : account.Scale == 1 ? "drop --time-scale and --virtual-time" : $"use --time-scale {account.Scale:0.###}")}, " +
          "or give no time option to follow the account");
