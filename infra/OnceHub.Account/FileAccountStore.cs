using System.Text.Json;

namespace OnceHub.Account;

/// <summary>
/// An account kept in a folder: <c>account.json</c> holds the state, <c>account.lock</c> is held
/// exclusively around every operation so several processes can share the folder. The state is re-read
/// under the lock each time and replaced atomically (temp file in the same folder, flushed, renamed),
/// so a crash leaves either the old or the new state, never a torn file.
/// </summary>
public sealed class FileAccountStore : AccountStore
{
    public const string StateFileName = "account.json";
    public const string LockFileName = "account.lock";
    private const int FormatVersion = 1;

    public FileAccountStore(string directory, AccountStoreOptions? options = null)
        : base(options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = Path.GetFullPath(directory);
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AccountStoreException($"Cannot create the local OnceHub account folder '{Directory}': {ex.Message}", ex);
        }

        StatePath = Path.Combine(Directory, StateFileName);
        LockPath = Path.Combine(Directory, LockFileName);
    }

    public string Directory { get; }

    public string StatePath { get; }

    public string LockPath { get; }

    protected override T Transact<T>(Func<List<StoredWebhook>, (T Result, bool Changed)> operation)
    {
        using var held = AcquireLock();
        var webhooks = Load();
        var (result, changed) = operation(webhooks);
        if (changed)
        {
            Save(webhooks);
        }

        return result;
    }

    private FileStream AcquireLock()
    {
        var deadline = Environment.TickCount64 + (long)Options.LockTimeout.TotalMilliseconds;
        while (true)
        {
            try
            {
                // FileShare.None is an exclusive lock that other processes honour too.
                return new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (Environment.TickCount64 < deadline)
            {
                Thread.Sleep(Random.Shared.Next(2, 15));
            }
            catch (IOException ex)
            {
                throw new AccountStoreException(
                    $"The local OnceHub account '{Directory}' stayed locked by another writer for {Options.LockTimeout.TotalSeconds:0.#} s ({LockFileName})", ex);
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new AccountStoreException($"Cannot open the lock file '{LockPath}': access denied", ex);
            }
        }
    }

    private List<StoredWebhook> Load()
    {
        byte[] bytes;
        try
        {
            if (!File.Exists(StatePath))
            {
                return [];
            }

            bytes = File.ReadAllBytes(StatePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AccountStoreException($"Cannot read the local OnceHub account file '{StatePath}': {ex.Message}", ex);
        }

        AccountFileJson? file;
        try
        {
            file = JsonSerializer.Deserialize(bytes, OnceHubJsonContext.Default.AccountFileJson);
        }
        catch (JsonException ex)
        {
            throw Corrupt($"not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})", ex);
        }

        if (file is null || file.Format != FormatVersion || file.Webhooks is null)
        {
            throw Corrupt($"expected an object with \"format\": {FormatVersion} and a \"webhooks\" list");
        }

        var webhooks = new List<StoredWebhook>(file.Webhooks.Count);
        foreach (var json in file.Webhooks)
        {
            if (WireFormat.Problem(json, requireSecret: true) is { } problem)
            {
                throw Corrupt($"webhook #{webhooks.Count + 1}: {problem}");
            }

            WireFormat.TryParseTime(json!.CreationTime, out var created);
            webhooks.Add(new StoredWebhook(json.Id!, json.Name!, json.Url!, [.. json.Events!.Select(e => e!)], json.ApiVersion!, created, json.Secret!));
        }

        return webhooks;
    }

    private void Save(List<StoredWebhook> webhooks)
    {
        var file = new AccountFileJson
        {
            Format = FormatVersion,
            Webhooks = [.. webhooks.Select(w => WireFormat.ToJson(w, includeSecret: true))],
        };
        var temp = Path.Combine(Directory, $"{StateFileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            var streamOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                // The file holds signing secrets: owner-only, as a key file would be.
                streamOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temp, streamOptions))
            {
                JsonSerializer.Serialize(stream, file, OnceHubJsonContext.Writer.AccountFileJson);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, StatePath, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new AccountStoreException($"Cannot write the local OnceHub account file '{StatePath}': {ex.Message}", ex);
        }
    }

    private AccountStoreException Corrupt(string why, Exception? inner = null) =>
        new($"The local OnceHub account file '{StatePath}' is unreadable: {why}. It was left untouched; repair or remove it.", inner);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: a stray temp file never shadows the state file.
        }
    }
}
