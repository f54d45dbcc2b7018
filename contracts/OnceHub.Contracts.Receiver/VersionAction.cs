using System.CommandLine;
using System.CommandLine.Invocation;
using System.Reflection;

namespace OnceHub.Contracts.Receiver;

/// <summary>
/// <c>--version</c> of a program built here: the version from git tags and the commit, read from the
/// program's own assembly rather than the process's entry assembly, so it holds when hosted in another process.
/// </summary>
public sealed class VersionAction(Assembly program) : SynchronousCommandLineAction
{
    public string Text { get; } =
        program.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? program.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>Makes <paramref name="root"/>'s <c>--version</c> print <paramref name="program"/>'s version.</summary>
    public static void Use(RootCommand root, Assembly program) =>
        root.Options.OfType<VersionOption>().Single().Action = new VersionAction(program);

    public override int Invoke(ParseResult parseResult)
    {
        parseResult.InvocationConfiguration.Output.WriteLine(Text);
        return 0;
    }
}
