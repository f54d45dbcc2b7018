using System.Reflection;

namespace OnceHub.TestSupport;

/// <summary>
/// What this build stamped on every assembly: the version (from git tags) and the plugin download URL, read from the test support
/// assembly itself, so no test names either.
/// </summary>
public static class BuildStamp
{
    /// <summary>The informational version: semver, then "+" and the commit when git knows it.</summary>
    public static string Informational { get; } =
        typeof(BuildStamp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? throw new InvalidOperationException("the build stamped no informational version");

    /// <summary>The semver alone: what packages, archive names and GetPluginInfo carry.</summary>
    public static string SemVer => Informational.Split('+')[0];

    /// <summary>The build's PluginDownloadUrl property, which the plugin's schema must carry.</summary>
    public static string PluginDownloadUrl { get; } =
        typeof(BuildStamp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PluginDownloadUrl").Value
        ?? throw new InvalidOperationException("the build stamped no PluginDownloadUrl");
}
