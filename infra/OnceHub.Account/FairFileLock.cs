using System.Runtime.InteropServices;
using System.Text;

namespace OnceHub.Account;

/// <summary>
/// An exclusive lock on a folder that several processes share, granted first come, first served.
/// The OS lock on one file (<c>FileShare.None</c>) is exclusive but not fair: waiters poll it, and a
/// slow poller can lose every round to faster ones. So each waiter first takes a ticket, a file in
/// the queue folder named by its arrival time and held locked while it waits and works, and waits
/// for the ticket just before its own to be released; only the oldest ticket tries the OS lock. A
/// waiter blocks in flock(2) on its predecessor's ticket (on Windows it polls), so the kernel wakes it
/// the moment the ticket is released and a long queue costs no CPU. The OS releases a dead process's
/// ticket, so a crash never blocks the queue: the next waiter sees the ticket unlocked and removes it.
/// </summary>
internal sealed class FairFileLock
{
    private const string TicketExtension = ".wait";
    private const int PollMs = 8;
    private readonly string _lockPath;
    private readonly string _queueDirectory;

    public FairFileLock(string lockPath, string queueDirectory)
    {
        _lockPath = lockPath;
        _queueDirectory = queueDirectory;
    }

    /// <summary>Waits for the lock; the returned handle releases it (and the ticket) when disposed.</summary>
    /// <exception cref="TimeoutException">Not granted within <paramref name="timeout"/>.</exception>
    /// <exception cref="UnauthorizedAccessException">The lock or queue files cannot be opened.</exception>
    public IDisposable Acquire(TimeSpan timeout)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var ticket = TakeTicket();
        try
        {
            var mine = Path.GetFileName(ticket.Name);
            while (true)
            {
                if (Predecessor(mine) is { } before)
                {
                    WaitUntilReleased(Path.Combine(_queueDirectory, before), deadline);
                    continue;
                }

                if (TryOpenExclusive(_lockPath, FileMode.OpenOrCreate) is { } held)
                {
                    return new Held(held, ticket);
                }

                // First in line; the previous holder (or a writer that takes no ticket) still has the lock.
                ThrowIfPast(deadline, "first in line");
                Thread.Sleep(1);
            }
        }
        catch
        {
            ticket.Dispose();
            throw;
        }
    }

    private FileStream TakeTicket()
    {
        Directory.CreateDirectory(_queueDirectory);
        while (true)
        {
            // Fixed-width ticks first, so the ordinal order of names is the order of arrival.
            var name = $"{DateTime.UtcNow.Ticks:D19}-{Environment.ProcessId:D10}-{Guid.NewGuid():N}{TicketExtension}";
            if (TryOpenExclusive(Path.Combine(_queueDirectory, name), FileMode.CreateNew, FileOptions.DeleteOnClose) is { } ticket)
            {
                return ticket;
            }
        }
    }

    /// <summary>The newest ticket older than <paramref name="mine"/>, or null when <paramref name="mine"/> is the oldest.</summary>
    private string? Predecessor(string mine)
    {
        string? newest = null;
        foreach (var path in Directory.EnumerateFiles(_queueDirectory, "*" + TicketExtension))
        {
            var name = Path.GetFileName(path);
            if (string.CompareOrdinal(name, mine) < 0 && (newest is null || string.CompareOrdinal(name, newest) > 0))
            {
                newest = name;
            }
        }

        return newest;
    }

    /// <summary>Returns once the ticket at <paramref name="path"/> is no longer held (its waiter finished or died), and removes it.</summary>
    private static void WaitUntilReleased(string path, long deadline)
    {
        if (OperatingSystem.IsWindows())
        {
            while (true)
            {
                if (TryOpenExclusive(path, FileMode.Open) is { } released)
                {
                    released.Dispose();
                    TryDelete(path);
                    return;
                }

                if (!File.Exists(path))
                {
                    return;
                }

                ThrowIfPast(deadline, "waiting in line");
                Thread.Sleep(PollMs);
            }
        }

        var fd = Native.Open(Encoding.UTF8.GetBytes(path + "\0"), Native.ReadOnly | Native.CloseOnExec);
        if (fd < 0)
        {
            return; // gone already: its waiter finished
        }

        if (Native.Flock(fd, Native.LockExclusive | Native.LockNonBlocking) == 0)
        {
            _ = Native.Close(fd);
            // Nobody holds it any more. A ticket finished normally is already unlinked; a dead one is removed here.
            TryDelete(path);
            return;
        }

        // Still held: block in flock(2) on a thread of its own, so that the kernel wakes this waiter the
        // moment its predecessor lets go (polling cost up to a poll interval per hand-over, and 64 writers
        // pass the lock 64 times), while this thread keeps the deadline.
        var waiter = new ReleaseWaiter(fd);
        if (!waiter.Wait(deadline))
        {
            throw new TimeoutException("waiting in line");
        }

        if (waiter.Released)
        {
            TryDelete(path);
        }
        else
        {
            // flock(2) itself failed (not a release): look at the line again after a pause.
            Thread.Sleep(PollMs);
        }
    }

    /// <summary>
    /// A blocking flock(2) on a descriptor it owns and closes. A waiter that gives up at its deadline leaves
    /// the thread blocked until the ticket is released (its holder finishes or dies); it then closes the
    /// descriptor and ends, holding nothing.
    /// </summary>
    private sealed class ReleaseWaiter
    {
        private const int Interrupted = 4; // EINTR: the runtime's own signals can interrupt a blocking call
        private readonly int _fd;
        private readonly ManualResetEventSlim _done = new();

        public ReleaseWaiter(int fd)
        {
            _fd = fd;
            new Thread(Run) { IsBackground = true, Name = "account lock waiter" }.Start();
        }

        public bool Released { get; private set; }

        public bool Wait(long deadline) =>
            _done.Wait(TimeSpan.FromMilliseconds(Math.Max(0, deadline - Environment.TickCount64)));

        private void Run()
        {
            int result;
            while ((result = Native.Flock(_fd, Native.LockExclusive)) != 0 && Marshal.GetLastPInvokeError() == Interrupted)
            {
            }

            Released = result == 0;
            _ = Native.Close(_fd);
            _done.Set();
        }
    }

    private static void ThrowIfPast(long deadline, string where)
    {
        if (Environment.TickCount64 >= deadline)
        {
            throw new TimeoutException(where);
        }
    }

    private static FileStream? TryOpenExclusive(string path, FileMode mode, FileOptions options = FileOptions.None)
    {
        var streamOptions = new FileStreamOptions { Mode = mode, Access = FileAccess.ReadWrite, Share = FileShare.None, Options = options };
        if (!OperatingSystem.IsWindows())
        {
            streamOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            return new FileStream(path, streamOptions);
        }
        catch (FileNotFoundException) when (mode == FileMode.Open)
        {
            return null;
        }
        catch (IOException) when (mode != FileMode.CreateNew || File.Exists(path))
        {
            // Held by someone else (or, for a new ticket, a name taken: another is drawn).
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Another waiter removed it first.
        }
    }

    private sealed class Held(FileStream lockFile, FileStream ticket) : IDisposable
    {
        public void Dispose()
        {
            // The lock first: the next in line takes it as soon as this ticket is released.
            lockFile.Dispose();
            ticket.Dispose();
        }
    }

    /// <summary>
    /// flock(2) on a descriptor of our own: .NET's own open of a locked file fails instead of telling
    /// when the lock is released, and polling that way costs an exception per poll.
    /// </summary>
    private static class Native
    {
        public const int ReadOnly = 0;
        public const int LockExclusive = 2;
        public const int LockNonBlocking = 4;

        public static readonly int CloseOnExec = OperatingSystem.IsMacOS() ? 0x1000000 : 0x80000;

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open(byte[] path, int flags);

        [DllImport("libc", EntryPoint = "flock", SetLastError = true)]
        public static extern int Flock(int fd, int operation);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}
