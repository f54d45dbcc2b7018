namespace OnceHub.Benchmarks.Harness;

public static class Stats
{
    /// <summary>The value at quantile <paramref name="q"/> (0..1), linearly interpolated.</summary>
    public static double Quantile(IReadOnlyCollection<double> values, double q)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("no values", nameof(values));
        }

        var sorted = values.Order().ToArray();
        var position = q * (sorted.Length - 1);
        var lower = (int)Math.Floor(position);
        var upper = (int)Math.Ceiling(position);
        return sorted[lower] + ((sorted[upper] - sorted[lower]) * (position - lower));
    }

    public static double Median(IReadOnlyCollection<double> values) => Quantile(values, 0.5);
}
