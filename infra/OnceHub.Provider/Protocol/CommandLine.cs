namespace OnceHub.Provider.Protocol;

/// <summary>What the engine passes on the command line: optional flags, then its own gRPC address.</summary>
/// <param name="EngineAddress">Null when started by hand to be attached to later.</param>
/// <param name="Verbosity">The <c>-v=N</c> level; 0 when absent.</param>
/// <param name="LogToStderr">Whether <c>--logtostderr</c> was given.</param>
public sealed record CommandLine(string? EngineAddress, int Verbosity, bool LogToStderr)
{
    // Flags the engine may pass whose value is the next argument when not written as --flag=value.
    private static readonly HashSet<string> FlagsWithValue = new(StringComparer.Ordinal) { "tracing", "v", "root" };

    /// <summary>Parses Go-style flags (-x, --x, -x=v, --x v); unknown flags are ignored.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        string? engine = null;
        var verbosity = 0;
        var logToStderr = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                if (i + 1 < args.Count)
                {
                    engine = args[^1];
                }

                break;
            }

            if (!arg.StartsWith('-') || arg == "-")
            {
                engine = arg;
                continue;
            }

            var flag = arg.TrimStart('-');
            string? value = null;
            var eq = flag.IndexOf('=');
            if (eq >= 0)
            {
                value = flag[(eq + 1)..];
                flag = flag[..eq];
            }
            else if (FlagsWithValue.Contains(flag) && i + 1 < args.Count && !args[i + 1].StartsWith('-') && i + 1 < args.Count - 1)
            {
                // the last argument is always the engine address, never a flag's value
                value = args[++i];
            }

            switch (flag)
            {
                case "v" when int.TryParse(value, out var level):
                    verbosity = level;
                    break;
                case "logtostderr":
                    logToStderr = value is null || bool.TryParse(value, out var on) && on;
                    break;
            }
        }

        return new CommandLine(engine, verbosity, logToStderr);
    }

    /// <summary>How much reaches stderr: warnings by default, more as -v rises.</summary>
    public Microsoft.Extensions.Logging.LogLevel MinimumLevel => Verbosity switch
    {
        >= 9 => Microsoft.Extensions.Logging.LogLevel.Trace,
        >= 5 => Microsoft.Extensions.Logging.LogLevel.Debug,
        >= 1 => Microsoft.Extensions.Logging.LogLevel.Information,
        _ => Microsoft.Extensions.Logging.LogLevel.Warning,
    };
}
