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
}
