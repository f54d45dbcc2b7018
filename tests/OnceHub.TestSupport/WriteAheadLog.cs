using System.Buffers.Binary;

namespace OnceHub.TestSupport;

/// <summary>What a SQLite database's write-ahead log file says about itself.</summary>
public static class WriteAheadLog
{
    /// <summary>
    /// The checkpoint sequence number in the header of <paramref name="databasePath"/>'s WAL file (big-endian,
    /// bytes 12-15). SQLite increments it each time the log starts over from its beginning, which it does only
    /// once every frame was copied into the database: a rising number means the log's size stays bounded.
    /// </summary>
    public static uint RestartCount(string databasePath)
    {
        using var wal = new FileStream(databasePath + "-wal", FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Span<byte> header = stackalloc byte[16];
        wal.ReadExactly(header);
        return BinaryPrimitives.ReadUInt32BigEndian(header[12..]);
    }

    /// <summary>
    /// Runs <paramref name="round"/> without pause on <paramref name="workers"/> tasks, so that the database's
    /// writer always has a transaction coming, and reads <see cref="RestartCount"/> after 0.5 s (the log exists
    /// and the load is steady) and again 3.5 s later. Returns both counts and how many rounds ran.
    /// </summary>
    public static async Task<(uint Before, uint After, int Rounds)> RestartsUnderLoadAsync(string databasePath, int workers, Func<Task> round)
    {
        using var stop = new CancellationTokenSource();
        var rounds = 0;
        var load = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await round();
                Interlocked.Increment(ref rounds);
            }
        })).ToArray();
        await Task.Delay(500);
        var before = RestartCount(databasePath);
        await Task.Delay(3500);
        var after = RestartCount(databasePath);
        await stop.CancelAsync();
        await Task.WhenAll(load);
        return (before, after, rounds);
    }
}
