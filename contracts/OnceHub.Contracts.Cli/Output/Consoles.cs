using Spectre.Console;

namespace OnceHub.Contracts.Cli.Output;

/// <summary>Spectre consoles over the invocation's writers, so tests capture what users see.</summary>
internal static class Consoles
{
    /// <summary>Width used when the output is not a terminal (CI logs, files) and COLUMNS is not set: wide enough that a table never wraps.</summary>
    public const int LogWidth = 240;

    /// <summary>True when <paramref name="writer"/> is this process's console and that console is a terminal.</summary>
    public static bool IsTerminal(TextWriter writer) =>
        (ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected)
        || (ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected);

    public static IAnsiConsole For(TextWriter writer)
    {
        var terminal = IsTerminal(writer);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            // COLUMNS, when set, is the width the reader will look at the output in (a pager, a narrow window).
            console.Profile.Width = int.TryParse(CliEnvironment.Get("COLUMNS"), out var columns) && columns is >= 40 and <= 1000 ? columns : LogWidth;
        }
        return console;
    }
}
