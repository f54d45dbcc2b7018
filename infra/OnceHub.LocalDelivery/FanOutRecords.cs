namespace OnceHub.LocalDelivery;

/// <summary>
/// A fan-out's attempt records, written in chunks as the answers come (a large fan-out starts writing before
/// its last answer). The last chunk closes the fan-out, unless a chunk before it failed: then the fan-out
/// stays open and is sent again once its lease ends.
/// </summary>
internal sealed class FanOutRecords(DeliveryStore store, long? fanOutId)
{
    // Each chunk costs a transaction on the writer, which competes with the sends for the cores; a larger fan-out
    // still starts writing before its last answer.
    private const int Chunk = 100;
    private readonly Lock _gate = new();
    private readonly List<Task<int>> _writes = [];
    private List<AttemptRecord> _pending = new(Chunk);

    public void Add(AttemptRecord record)
    {
        lock (_gate)
        {
            _pending.Add(record);
            if (_pending.Count >= Chunk)
            {
                _writes.Add(store.RecordAttemptsAsync(_pending));
                _pending = new List<AttemptRecord>(Chunk);
            }
        }
    }

    /// <summary>Writes what is left and closes the fan-out; completes when every chunk is committed.</summary>
    public Task CloseAsync()
    {
        lock (_gate)
        {
            if (fanOutId is not null)
            {
                // Chunks run in order on the store's writer: a failed one is faulted before this one runs.
                var before = _writes.ToArray();
                _writes.Add(store.RecordAttemptsAsync(_pending, fanOutId, () => !before.Any(w => w.IsFaulted)));
            }
            _pending = [];
            return Task.WhenAll(_writes);
        }
    }
}
