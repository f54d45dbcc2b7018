using System.Globalization;

namespace OnceHub.TestSupport;

/// <summary>
/// Deadlines for waits that depend on how busy the machine is: a deadline given for a quiet machine is stretched
/// by <see cref="Scale"/>, so a test that waits for a condition fails only when the condition never comes.
/// </summary>
public static class Deadline
{
    /// <summary>The variable that sets <see cref="Scale"/> outright (a number of 1 or more).</summary>
    public const string ScaleVariable = "ONCEHUB_TEST_DEADLINE_SCALE";

    /// <summary>
    /// How much longer than on a quiet machine a wait may take: <see cref="ScaleVariable"/> when set, else
    /// 1 plus the load average per core at start (Linux), at most 4.
    /// </summary>
    public static double Scale { get; } = ReadScale();

    /// <summary><paramref name="quiet"/> stretched by <see cref="Scale"/>.</summary>
    public static TimeSpan Of(TimeSpan quiet) => quiet * Scale;

    /// <summary><paramref name="seconds"/> on a quiet machine, stretched by <see cref="Scale"/>.</summary>
    public static TimeSpan Seconds(double seconds) => Of(TimeSpan.FromSeconds(seconds));

    private static double ReadScale()
    {
        var set = Environment.GetEnvironmentVariable(ScaleVariable);
        if (double.TryParse(set, NumberStyles.Float, CultureInfo.InvariantCulture, out var scale) && scale >= 1)
        {
            return scale;
        }
        try
        {
            // /proc/loadavg starts with the 1-minute load average: runnable tasks, averaged.
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            var load = double.Parse(first, CultureInfo.InvariantCulture);
            return Math.Clamp(1 + (load / Environment.ProcessorCount), 1, 4);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return 1;
        }
    }
}
