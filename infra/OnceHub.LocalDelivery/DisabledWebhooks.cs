using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace OnceHub.LocalDelivery;

/// <summary>
/// The account's locally disabled webhooks as every fan-out reads them: on a connection of its own, so the read
/// neither waits behind the store's queued writes nor delays them, and reused for a short while unless this
/// store disabled or enabled one since.
/// </summary>
internal sealed class DisabledWebhooks : IDisposable
{
    // How long a read may be reused: a webhook disabled by another process is seen within this.
    private static readonly long ReuseTicks = Stopwatch.Frequency / 10;
    private const string Query = "SELECT webhook_id, disabled_at, reason FROM disabled_webhooks";

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _read;
    private readonly Lock _gate = new();
    private Snapshot? _last;
    // Moves each time this store's change to the table is committed; a read from before is not reused.
    private int _epoch;
    // Set by the store's writer when its transaction disables a webhook; the epoch moves once that has ended.
    private bool _changing;

    /// <param name="connection">Open; taken over, closed with this object.</param>
    public DisabledWebhooks(SqliteConnection connection)
    {
        _connection = connection;
        try
        {
            _read = connection.CreateCommand();
            _read.CommandText = Query;
            _read.Prepare();
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>The disabled webhooks as of at most a moment ago, and as of every change this store committed.</summary>
    public IReadOnlyDictionary<string, DisabledWebhook> Recent()
    {
        var epoch = Volatile.Read(ref _epoch);
        var now = Stopwatch.GetTimestamp();
        if (Volatile.Read(ref _last) is { } last && last.Epoch == epoch && now - last.ReadAt < ReuseTicks)
        {
            return last.Webhooks;
        }
        var read = Current();
        Volatile.Write(ref _last, new Snapshot(read, now, epoch));
        return read;
    }

    /// <summary>The disabled webhooks, read now.</summary>
    public Dictionary<string, DisabledWebhook> Current()
    {
        lock (_gate)
        {
            using var reader = _read.ExecuteReader();
            var found = new Dictionary<string, DisabledWebhook>(StringComparer.Ordinal);
            while (reader.Read())
            {
                found[reader.GetString(0)] = new DisabledWebhook(reader.GetString(0), StoredTime.FromStored(reader.GetInt64(1)), reader.GetString(2));
            }
            return found;
        }
    }

    /// <summary>On the store's writer: its open transaction disables a webhook.</summary>
    public void Disabling() => _changing = true;

    /// <summary>On the store's writer, once its transaction ended: reads from before are not reused.</summary>
    public void AfterTransaction()
    {
        if (_changing)
        {
            _changing = false;
            Changed();
        }
    }

    /// <summary>A change to the table is committed.</summary>
    public void Changed() => Interlocked.Increment(ref _epoch);

    public void Dispose()
    {
        lock (_gate)
        {
            _read.Dispose();
            _connection.Dispose();
        }
    }

    /// <summary>One read: when (Stopwatch ticks), and the epoch it saw.</summary>
    private sealed record Snapshot(Dictionary<string, DisabledWebhook> Webhooks, long ReadAt, int Epoch);
}
