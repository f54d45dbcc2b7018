namespace OnceHub.Benchmarks.Harness;

/// <summary>The binaries the figures run, published or built by this harness into artifacts/bench.</summary>
public static class Artifacts
{
    private static Task<string>? _plugin;
    private static readonly Dictionary<string, Task<string>> Floors = [];
    private static Task<string>? _cli;

    /// <summary>The plugin, published exactly as the README builds it (Native AOT when the project says so).</summary>
    public static Task<string> PluginAsync() => _plugin ??= Repo.BuildAsync(
        "publish", "infra/OnceHub.Provider", "plugin", "pulumi-resource-oncehub",
        ["infra/OnceHub.Provider", "infra/OnceHub.Api", "infra/OnceHub.Account", "contracts/OnceHub.Events"], []);

    /// <summary>
    /// The bare Kestrel server (<paramref name="variant"/> "bare"), or the step between it and the plugin
    /// ("grpc": plus gRPC with one service), published like the plugin.
    /// </summary>
    public static Task<string> FloorAsync(string variant = "bare")
    {
        if (!Floors.TryGetValue(variant, out var build))
        {
            Floors[variant] = build = Repo.BuildAsync(
                "publish", "tests/OnceHub.Benchmarks.KestrelFloor", variant == "bare" ? "floor" : "floor-" + variant, "kestrel-floor",
                ["tests/OnceHub.Benchmarks.KestrelFloor", "infra/OnceHub.Provider/Protos"], ["-p:FloorVariant=" + variant]);
        }

        return build;
    }

    /// <summary>The contract suite's CLI, a Release build run with <c>dotnet CLI.dll</c>.</summary>
    public static Task<string> CliAsync() => _cli ??= Repo.BuildAsync(
        "build", "contracts/OnceHub.Contracts.Cli", "cli", "OnceHub.Contracts.Cli.dll",
        ["contracts"], []);
}
