namespace OnceHub.TestSupport;

/// <summary>Waiting, bounded, for what happens off the test's thread (a background check, another process).</summary>
public static class Eventually
{
    /// <summary>
    /// Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> (meant for a quiet machine,
    /// stretched by <see cref="Deadline.Scale"/>) passes; whether it held.
    /// </summary>
    public static async Task<bool> HoldsWithinAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + Deadline.Of(timeout);
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }
            await Task.Delay(20);
        }
        return true;
    }
}
