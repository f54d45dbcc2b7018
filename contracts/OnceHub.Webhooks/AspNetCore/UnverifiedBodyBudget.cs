namespace OnceHub.Webhooks;

/// <summary>
/// A process-wide cap on the bytes held for request bodies while their signature cannot be checked yet (the
/// MAC covers the whole body). A well-formed, current <c>Oncehub-Signature</c> header needs no secret to write,
/// so without a cap strangers holding large bodies half-sent could make the process as large as they like.
/// Past the cap a new body is refused with 503 and <c>Retry-After</c>; OnceHub retries any non-2xx answer, so a
/// delivery refused during such a flood arrives later. One budget serves every endpoint of an app.
/// </summary>
public sealed class UnverifiedBodyBudget
{
    /// <summary>
    /// 32 MiB: room for 32 bodies of the largest default size, or thousands of OnceHub's few-kilobyte payloads,
    /// arriving at once, and a small share of any server's memory.
    /// </summary>
    public const long DefaultBytes = 32L << 20;

    private long _available;

    public UnverifiedBodyBudget(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        Capacity = bytes;
        _available = bytes;
    }

    /// <summary>The cap, in bytes.</summary>
    public long Capacity { get; }

    /// <summary>What is not held right now.</summary>
    public long Available => Volatile.Read(ref _available);

    internal bool TryTake(long bytes)
    {
        var available = Volatile.Read(ref _available);
        while (available >= bytes)
        {
            var seen = Interlocked.CompareExchange(ref _available, available - bytes, available);
            if (seen == available)
            {
                return true;
            }
            available = seen;
        }
        return false;
    }

    internal void Give(long bytes) => Interlocked.Add(ref _available, bytes);
}
