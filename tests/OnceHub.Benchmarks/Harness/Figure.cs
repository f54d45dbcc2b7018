using System.Globalization;

namespace OnceHub.Benchmarks.Harness;

/// <summary>One measured figure beside the reference measured in the same run.</summary>
/// <param name="Name">The benchmark's name on the command line.</param>
/// <param name="Title">What is measured.</param>
/// <param name="Measured">The figure, with its unit.</param>
/// <param name="Reference">The reference it is compared with, with its unit.</param>
/// <param name="Ratio">Measured over reference.</param>
/// <param name="Target">The target, as text.</param>
/// <param name="Pass">Whether every part of the target holds.</param>
/// <param name="Notes">Breakdown lines: where the time goes.</param>
public sealed record Figure(
    string Name, string Title, string Measured, string Reference, double? Ratio, string Target, bool Pass, IReadOnlyList<string> Notes)
{
    public string Verdict => Pass ? "PASS" : "MISS";

    public string RatioText => Ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) + "×" : "n/a";

    /// <summary>A figure that could not be measured (a prerequisite failed); always a miss.</summary>
    public static Figure NotMeasured(string name, string title, string target, string why) =>
        new(name, title, "not measured", "", null, target, false, [why]);
}
