using System.Text.Json;

namespace OnceHub.Account;

/// <summary>
/// An account kept in a folder (owner-only, 0700), every file in it 0600 (they hold signing secrets):
/// <list type="bullet">
/// <item><c>account.json</c>, a snapshot of the webhooks, only ever replaced whole (temp file in the same
/// folder, flushed, renamed), so a crash leaves the old or the new snapshot, never a torn one;</item>
/// <item><c>account.journal</c>, the changes since that snapshot, one JSON line each, appended and
/// flushed; a line cut short by a crash is ignored and cut off by the next writer. Every <see cref="ChangesPerSnapshot"/>
/// changes the journal is folded into a new snapshot. A change costs one appended line, not a rewrite of the
/// whole account, so writers hold the lock briefly even in a large account;</item>
/// <item><c>account.lock</c> and <c>account.queue/</c>: every change runs under the lock, granted to
/// writers in arrival order (<see cref="FairFileLock"/>), so several processes share the folder and
/// none starves.</item>
/// </list>
/// Each store caches the state and reads only what other processes appended since; reads take no
/// lock. A temp file left by a crashed writer is removed, and files holding secrets are narrowed to 0600,
/// the first time a store writes to the folder.
/// </summary>
public sealed class FileAccountStore : AccountStore
{
    public const string StateFileName = "account.json";
    public const string JournalFileName = "account.journal";
    public const string LockFileName = "account.lock";
    public const string QueueDirectoryName = "account.queue";
    private const string TempPattern = StateFileName + ".*.tmp";
    private const int FormatVersion = 1;
    private const int ChangesPerSnapshot = 1_000;
    private const string CreateOp = "create";
    private const string DeleteOp = "delete";
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private readonly FairFileLock _lock;
    private readonly Lock _cacheGate = new();
    private State? _cache;
    private bool _folderSecured;

    public FileAccountStore(string directory, AccountStoreOptions? options = null)
        : base(options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
        try
        {
            if (OperatingSystem.IsWindows())
            {
                System.IO.Directory.CreateDirectory(Directory);
            }
            else
            {
                // Applies when the folder is created; an existing folder keeps the mode its owner gave it.
                System.IO.Directory.CreateDirectory(Directory, OwnerOnlyDirectory);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AccountStoreException($"Cannot create the local OnceHub account folder '{Directory}': {ex.Message}", ex);
        }

        StatePath = Path.Combine(Directory, StateFileName);
        JournalPath = Path.Combine(Directory, JournalFileName);
        LockPath = Path.Combine(Directory, LockFileName);
        _lock = new FairFileLock(LockPath, Path.Combine(Directory, QueueDirectoryName));
    }

    public string Directory { get; }

    public string StatePath { get; }

    public string JournalPath { get; }

    public string LockPath { get; }

    protected override T Transact<T>(Func<List<StoredWebhook>, (T Result, bool Changed)> operation)
    {
        // Read the snapshot before queueing, so the lock is held only to catch up on the journal's tail.
        lock (_cacheGate)
        {
            Refresh();
        }

        T result;
        FileStream? appended = null;
        try
        {
            using (AcquireLock())
            {
                lock (_cacheGate)
                {
                    SecureFolderOnce();
                    var state = Refresh();
                    var webhooks = new List<StoredWebhook>(state.Webhooks);
                    (result, var changed) = operation(webhooks);
                    if (changed)
                    {
                        (_cache, appended) = Commit(state, webhooks);
                    }
                }
            }

            // The journal reaches the disk after the lock is passed on, so the file system commits several writers'
            // flushes at once instead of each waiting its own under the lock; the caller still hears of its change
            // only once it is on disk.
            appended?.Flush(flushToDisk: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AccountStoreException($"Cannot write the local OnceHub account in '{Directory}': {ex.Message}", ex);
        }
        finally
        {
            appended?.Dispose();
        }

        return result;
    }

    /// <summary>No lock: snapshots are replaced whole and journal lines count only once complete.</summary>
    protected override T Query<T>(Func<List<StoredWebhook>, T> read)
    {
        lock (_cacheGate)
        {
            return read([.. Refresh().Webhooks]);
        }
    }

    private IDisposable AcquireLock()
    {
        try
        {
            return _lock.Acquire(Options.LockTimeout);
        }
        catch (TimeoutException ex)
        {
            throw new AccountStoreException(
                $"The local OnceHub account '{Directory}' stayed locked by other writers for {Options.LockTimeout.TotalSeconds:0.#} s ({LockFileName}, {ex.Message})", ex);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new AccountStoreException($"Cannot lock the local OnceHub account '{Directory}' ({LockFileName}): {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Once per store, under the lock. Writers hold the lock while their temp file exists, so one seen
    /// here was left by a writer that crashed mid-save; it may hold every secret of the account, so it
    /// is removed. Files holding secrets that were made readable to others (by hand, or by an older
    /// build) are made the owner's alone again.
    /// </summary>
    private void SecureFolderOnce()
    {
        if (_folderSecured)
        {
            return;
        }

        foreach (var stale in System.IO.Directory.EnumerateFiles(Directory, TempPattern))
        {
            TryDelete(stale);
        }

        if (!OperatingSystem.IsWindows())
        {
            foreach (var path in new[] { StatePath, JournalPath })
            {
                if (File.Exists(path) && (File.GetUnixFileMode(path) & ~OwnerOnlyFile) != 0)
                {
                    File.SetUnixFileMode(path, OwnerOnlyFile);
                }
            }
        }

        _folderSecured = true;
    }

    /// <summary>The current state: the cached one brought up to date with what others wrote since.</summary>
    private State Refresh()
    {
        try
        {
            while (true)
            {
                var snapshot = SnapshotIdentity();
                var state = _cache is { } cached && cached.Snapshot == snapshot ? cached : LoadSnapshot();
                state = ReadJournal(state);
                // A new snapshot written meanwhile may have absorbed (and removed) the journal just read.
                if (SnapshotIdentity() == state.Snapshot)
                {
                    _cache = state;
                    return state;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AccountStoreException($"Cannot read the local OnceHub account in '{Directory}': {ex.Message}", ex);
        }
    }

    private (long Length, long Ticks) SnapshotIdentity()
    {
        var info = new FileInfo(StatePath);
        return info.Exists ? (info.Length, info.LastWriteTimeUtc.Ticks) : (-1, 0);
    }

    private State LoadSnapshot()
    {
        using var stream = OpenExisting(StatePath);
        if (stream is null)
        {
            return new State((-1, 0), null, 0, 0, []);
        }

        var identity = (stream.Length, File.GetLastWriteTimeUtc(stream.SafeFileHandle).Ticks);
        AccountFileJson? file;
        try
        {
            file = JsonSerializer.Deserialize(stream, OnceHubJsonContext.Default.AccountFileJson);
        }
        catch (JsonException ex)
        {
            throw Corrupt(StatePath, $"not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})", ex);
        }

        if (file is null || file.Format != FormatVersion || file.Webhooks is null)
        {
            throw Corrupt(StatePath, $"expected an object with \"format\": {FormatVersion} and a \"webhooks\" list");
        }

        var webhooks = new List<StoredWebhook>(file.Webhooks.Count);
        foreach (var json in file.Webhooks)
        {
            webhooks.Add(ToStored(json, StatePath, $"webhook #{webhooks.Count + 1}"));
        }

        return new State(identity, file.Journal, 0, 0, webhooks);
    }

    /// <summary>Applies the journal's complete lines after <see cref="State.JournalOffset"/>, when the journal continues this snapshot.</summary>
    private State ReadJournal(State state)
    {
        if (state.JournalId is null)
        {
            return state;
        }

        using var stream = OpenExisting(JournalPath);
        if (stream is null || stream.Length <= state.JournalOffset)
        {
            return state;
        }

        stream.Position = state.JournalOffset;
        var tail = new byte[stream.Length - state.JournalOffset];
        stream.ReadExactly(tail);
        // A copy: the cached state stays as it was if a line below turns out corrupt.
        var webhooks = new List<StoredWebhook>(state.Webhooks);
        var offset = state.JournalOffset;
        var changes = state.JournalChanges;
        var start = 0;
        for (var end = Array.IndexOf(tail, (byte)'\n'); end >= 0; end = Array.IndexOf(tail, (byte)'\n', start))
        {
            var line = tail.AsSpan(start, end - start);
            start = end + 1;
            JournalEntryJson? entry;
            try
            {
                entry = JsonSerializer.Deserialize(line, OnceHubJsonContext.Default.JournalEntryJson);
            }
            catch (JsonException ex)
            {
                throw Corrupt(JournalPath, $"the line at byte {offset} is not valid JSON ({ex.Message})", ex);
            }

            if (offset == 0)
            {
                if (entry?.Journal != state.JournalId)
                {
                    // Left by a writer that crashed while folding it into the snapshot: already absorbed.
                    return state;
                }
            }
            else
            {
                Apply(webhooks, entry, offset);
                changes++;
            }

            offset = state.JournalOffset + start;
        }

        // A line without its newline is still being written, or was cut short by a crash: not yet a change.
        return state with { JournalOffset = offset, JournalChanges = changes, Webhooks = webhooks };
    }

    private void Apply(List<StoredWebhook> webhooks, JournalEntryJson? entry, long offset)
    {
        var where = $"the line at byte {offset}";
        switch (entry?.Op)
        {
            case CreateOp:
                webhooks.Add(ToStored(entry.Webhook, JournalPath, where));
                break;
            case DeleteOp when !string.IsNullOrEmpty(entry.Id):
                webhooks.RemoveAll(w => string.Equals(w.Id, entry.Id, StringComparison.Ordinal));
                break;
            default:
                throw Corrupt(JournalPath, $"{where} is neither a create with a webhook nor a delete with an id");
        }
    }

    /// <summary>
    /// Writes what changed from <paramref name="before"/> to <paramref name="after"/>: a journal line each
    /// (returned with the journal still open, for the caller to flush to disk), or a new snapshot (on disk
    /// when this returns).
    /// </summary>
    private (State State, FileStream? Appended) Commit(State before, List<StoredWebhook> after)
    {
        try
        {
            if (before.JournalId is null || before.JournalChanges >= ChangesPerSnapshot)
            {
                return (WriteSnapshot(after), null);
            }

            var lines = Changes(before.Webhooks, after);
            var journal = new FileStream(JournalPath, CreateOptions(FileMode.OpenOrCreate, FileAccess.Write));
            try
            {
                var offset = before.JournalOffset;
                if (offset == 0)
                {
                    // A new journal for this snapshot (or one left by a crash mid-fold: replaced).
                    journal.SetLength(0);
                    offset = WriteLine(journal, new JournalEntryJson { Journal = before.JournalId });
                }
                else
                {
                    // Cut off a line a crashed writer left unfinished.
                    journal.SetLength(offset);
                    journal.Position = offset;
                }

                foreach (var line in lines)
                {
                    offset += WriteLine(journal, line);
                }

                // In the file (other processes read it from here on); on disk once the caller flushes it.
                journal.Flush(flushToDisk: false);
                return (before with { JournalOffset = offset, JournalChanges = before.JournalChanges + lines.Count, Webhooks = after }, journal);
            }
            catch
            {
                journal.Dispose();
                throw;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AccountStoreException($"Cannot write the local OnceHub account in '{Directory}': {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The journal lines that turn <paramref name="before"/> into <paramref name="after"/> when replayed
    /// (deletes, then creates appended): one pass matching <paramref name="after"/> in order against
    /// <paramref name="before"/> by reference, since the operations copy the list and only remove from it
    /// or add to its end. Whatever an operation did, replaying the lines gives <paramref name="after"/>.
    /// </summary>
    private static List<JournalEntryJson> Changes(List<StoredWebhook> before, List<StoredWebhook> after)
    {
        var lines = new List<JournalEntryJson>();
        var kept = 0;
        foreach (var webhook in before)
        {
            if (kept < after.Count && ReferenceEquals(webhook, after[kept]))
            {
                kept++;
            }
            else
            {
                lines.Add(new JournalEntryJson { Op = DeleteOp, Id = webhook.Id });
            }
        }

        for (var i = kept; i < after.Count; i++)
        {
            lines.Add(new JournalEntryJson { Op = CreateOp, Webhook = WireFormat.ToJson(after[i], includeSecret: true) });
        }

        return lines;
    }

    private static long WriteLine(FileStream journal, JournalEntryJson entry)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(entry, OnceHubJsonContext.Default.JournalEntryJson);
        journal.Write(bytes);
        journal.WriteByte((byte)'\n');
        return bytes.Length + 1;
    }

    /// <summary>The whole state as a new snapshot with a new, empty journal; the old journal is removed.</summary>
    private State WriteSnapshot(List<StoredWebhook> webhooks)
    {
        var file = new AccountFileJson
        {
            Format = FormatVersion,
            Journal = Guid.NewGuid().ToString("N"),
            Webhooks = [.. webhooks.Select(w => WireFormat.ToJson(w, includeSecret: true))],
        };
        var temp = Path.Combine(Directory, $"{StateFileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, CreateOptions(FileMode.CreateNew, FileAccess.Write)))
            {
                JsonSerializer.Serialize(stream, file, OnceHubJsonContext.Writer.AccountFileJson);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, StatePath, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        // The snapshot names its journal, so a crash right here leaves an old journal that nobody applies.
        TryDelete(JournalPath);
        return new State(SnapshotIdentity(), file.Journal, 0, 0, webhooks);
    }

    private static FileStreamOptions CreateOptions(FileMode mode, FileAccess access)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = FileShare.Read | FileShare.Delete };
        if (!OperatingSystem.IsWindows())
        {
            // Signing secrets: owner-only, as a key file would be.
            options.UnixCreateMode = OwnerOnlyFile;
        }

        return options;
    }

    private static FileStream? OpenExisting(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private StoredWebhook ToStored(WebhookJson? json, string path, string where)
    {
        if (WireFormat.Problem(json, requireSecret: true) is { } problem)
        {
            throw Corrupt(path, $"{where}: {problem}");
        }

        WireFormat.TryParseTime(json!.CreationTime, out var created);
        return new StoredWebhook(json.Id!, json.Name!, json.Url!, [.. json.Events!.Select(e => e!)], json.ApiVersion!, created, json.Secret!);
    }

    private static AccountStoreException Corrupt(string path, string why, Exception? inner = null) =>
        new($"The local OnceHub account file '{path}' is unreadable: {why}. It was left untouched; repair or remove it.", inner);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a stray temp file never shadows the state file, nor an old journal the snapshot.
        }
    }

    /// <summary>What a store knows: the snapshot it read (by length and time), its journal id, how far into the journal.</summary>
    private sealed record State((long Length, long Ticks) Snapshot, string? JournalId, long JournalOffset, int JournalChanges, List<StoredWebhook> Webhooks);
}
