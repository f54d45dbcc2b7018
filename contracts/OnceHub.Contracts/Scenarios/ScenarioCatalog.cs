using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Payloads;

namespace OnceHub.Contracts.Scenarios;

/// <summary>The lifecycle scenarios shipped in <c>samples/scenarios/</c>, one file each, named by the file.</summary>
public static class ScenarioCatalog
{
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

    private static IReadOnlyList<LifecycleScenario> Load() =>
        [.. ContractResources.ReadScenarios().Select(f => LifecycleScenario.Parse(f.Name, f.Body))];
}
