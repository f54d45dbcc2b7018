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
    /// writer always has a transaction coming, and reads <see cref="RestartCount"/> once the log exists and again
    /// until it has risen by <paramref name="restarts"/> or a deadline (<see cref="Deadline"/>-scaled) passes. Returns both counts and how many rounds ran.
    /// </summary>
    public static async Task<(uint Before, uint After, int Rounds)> RestartsUnderLoadAsync(string databasePath, int workers, Func<Task> round, int restarts = 1)
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
        try
        {
            await Eventually.HoldsWithinAsync(() => Volatile.Read(ref rounds) > workers && File.Exists(databasePath + "-wal"), TimeSpan.FromSeconds(30));
            var before = RestartCount(databasePath);
            var after = before;
            await Eventually.HoldsWithinAsync(() => (after = RestartCount(databasePath)) - before >= restarts, TimeSpan.FromSeconds(30));
            return (before, after, Volatile.Read(ref rounds));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(load);
        }
    }
}
