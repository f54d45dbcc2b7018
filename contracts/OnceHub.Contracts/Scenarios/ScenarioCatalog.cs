using System.Reflection;
using OnceHub.Contracts.CommandLine;

namespace OnceHub.Contracts.Scenarios;

/// <summary>The lifecycle scenarios shipped in <c>samples/scenarios/</c>, one file each, named by the file.</summary>
public static class ScenarioCatalog
{
    private const string Prefix = "samples/scenarios/";

    private static readonly Lazy<IReadOnlyList<LifecycleScenario>> Loaded = new(Load);

    /// <summary>Every scenario, by name.</summary>
    public static IReadOnlyList<LifecycleScenario> All => Loaded.Value;

    public static bool TryFind(string name, out LifecycleScenario scenario)
    {
        scenario = All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.Ordinal))!;
        return scenario is not null;
    }

    /// <summary>Why <paramref name="name"/> is not a scenario, with the closest names when any is close.</summary>
    public static string Unknown(string name)
    {
        var close = CommandLineErrors.Closest(name, All.Select(s => s.Name));
        var hint = close.Count > 0 ? $"; did you mean {string.Join(" or ", close.Select(c => $"'{c}'"))}?" : "";
        return $"'{name}' is not a scenario{hint} (see trigger --list-scenarios)";
    }

    private static IReadOnlyList<LifecycleScenario> Load()
    {
        var assembly = typeof(ScenarioCatalog).Assembly;
        return [.. assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => LifecycleScenario.Parse(n[Prefix.Length..^".json".Length], Read(assembly, n)))];
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
