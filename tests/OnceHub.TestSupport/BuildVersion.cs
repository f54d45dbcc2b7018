using System.Reflection;

namespace OnceHub.TestSupport;

/// <summary>
/// The version this build stamped on every assembly (from git tags), read from the test support
/// assembly itself, so no test names a version.
/// </summary>
public static class BuildVersion
{
    /// <summary>The informational version: semver, then "+" and the commit when git knows it.</summary>
    public static string Informational { get; } =
        typeof(BuildVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? throw new InvalidOperationException("the build stamped no informational version");

    /// <summary>The semver alone: what packages, archive names and GetPluginInfo carry.</summary>
    public static string SemVer => Informational.Split('+')[0];
}
