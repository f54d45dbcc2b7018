namespace OnceHub.LocalDelivery;

/// <summary>How the delivery store keeps a time: Unix milliseconds, on the clock that wrote it.</summary>
internal static class StoredTime
{
    public static long ToStored(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromStored(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
}
