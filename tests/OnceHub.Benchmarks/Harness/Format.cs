using System.Globalization;

namespace OnceHub.Benchmarks.Harness;

/// <summary>Invariant-culture number formatting for the report.</summary>
public static class Format
{
    public static string Ms(double milliseconds) => milliseconds.ToString("0.0", CultureInfo.InvariantCulture) + " ms";

    public static string Seconds(double seconds) => seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    public static string Number(double value, string format = "0") => value.ToString(format, CultureInfo.InvariantCulture);
}
