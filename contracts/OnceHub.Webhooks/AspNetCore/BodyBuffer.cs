using System.Buffers;

namespace OnceHub.Webhooks;

/// <summary>How reading a request body ended.</summary>
internal enum BodyReadOutcome
{
    Read,
    /// <summary>More than the limit arrived (413).</summary>
    TooLarge,
    /// <summary>The <see cref="UnverifiedBodyBudget"/> could not hold more (503).</summary>
    OverBudget,
}

/// <summary>
/// A request body read whole, as the signature needs it, into a buffer grown with what actually arrives (never
/// sized from an unauthenticated Content-Length), counted against an <see cref="UnverifiedBodyBudget"/> until
/// disposed. Buffers up to <see cref="PooledUpTo"/> come from the shared pool, which keeps only a few of each
/// size; larger ones are allocated to their exact size and dropped at the end, so a flood of large bodies leaves
/// no pool of large arrays behind it.
/// </summary>
internal sealed class BodyBuffer : IDisposable
{
    private const int PooledUpTo = 64 * 1024;
    private const int FirstSize = 4096;

    private readonly UnverifiedBodyBudget? _budget;
    private byte[]? _buffer;
    private int _length;

    private BodyBuffer(UnverifiedBodyBudget? budget) => _budget = budget;

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

    /// <summary>Reads at most <paramref name="limit"/> bytes into an array of their own; null when more arrive.</summary>
    public static async Task<ReadOnlyMemory<byte>?> ReadCopyAsync(Stream body, int limit, CancellationToken cancellationToken)
    {
        var (outcome, read) = await ReadAsync(body, limit, budget: null, cancellationToken).ConfigureAwait(false);
        using (read)
        {
            return outcome == BodyReadOutcome.Read ? read!.Memory.ToArray() : null;
        }
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes; the buffer is the caller's to dispose when the outcome is <see cref="BodyReadOutcome.Read"/>.</summary>
    public static async Task<(BodyReadOutcome Outcome, BodyBuffer? Body)> ReadAsync(Stream body, int limit, UnverifiedBodyBudget? budget,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        var read = new BodyBuffer(budget);
        try
        {
            if (!read.Grow(Math.Min(limit + 1, FirstSize)))
            {
                read.Dispose();
                return (BodyReadOutcome.OverBudget, null);
            }
            while (true)
            {
                if (read._length == read._buffer!.Length)
                {
                    if (read._length > limit)
                    {
                        read.Dispose();
                        return (BodyReadOutcome.TooLarge, null);
                    }
                    if (!read.Grow((int)Math.Min(limit + 1L, read._buffer.Length * 2L)))
                    {
                        read.Dispose();
                        return (BodyReadOutcome.OverBudget, null);
                    }
                }
                var count = await body.ReadAsync(read._buffer.AsMemory(read._length), cancellationToken).ConfigureAwait(false);
                if (count == 0)
                {
                    if (read._length > limit)
                    {
                        read.Dispose();
                        return (BodyReadOutcome.TooLarge, null);
                    }
                    return (BodyReadOutcome.Read, read);
                }
                read._length += count;
            }
        }
        catch
        {
            // A sender that hung up or stalled: its bytes go back at once.
            read.Dispose();
            throw;
        }
    }

    // A buffer of at least `size` bytes holding what was read so far, if the budget has room for it.
    private bool Grow(int size)
    {
        var larger = size <= PooledUpTo ? ArrayPool<byte>.Shared.Rent(size) : GC.AllocateUninitializedArray<byte>(size);
        var more = larger.Length - (_buffer?.Length ?? 0);
        if (_budget is not null && !_budget.TryTake(more))
        {
            Drop(larger);
            return false;
        }
        if (_buffer is { } old)
        {
            old.AsSpan(0, _length).CopyTo(larger);
            Drop(old);
        }
        _buffer = larger;
        return true;
    }

    private static void Drop(byte[] buffer)
    {
        if (buffer.Length <= PooledUpTo)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            Drop(buffer);
            _budget?.Give(buffer.Length);
        }
    }
}
