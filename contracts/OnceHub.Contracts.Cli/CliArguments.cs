namespace OnceHub.Contracts.Cli;

/// <summary>Bad input on the command line: reported as one line on stderr with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The parsed arguments of one verb: flags with values, switches, and positional arguments.</summary>
internal sealed class CliArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _switches = new(StringComparer.Ordinal);

    public List<string> Positionals { get; } = [];

    public bool Help { get; private set; }

    /// <param name="verb">For error messages.</param>
    /// <param name="args">Everything after the verb.</param>
    /// <param name="valueFlags">Flags that take a value (e.g. "--target").</param>
    /// <param name="switchFlags">Flags without a value (e.g. "--json").</param>
    public static CliArguments Parse(string verb, IReadOnlyList<string> args, IReadOnlyCollection<string> valueFlags,
        IReadOnlyCollection<string> switchFlags)
    {
        var parsed = new CliArguments();
        var onlyPositionals = false;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (onlyPositionals || !arg.StartsWith('-') || arg == "-")
            {
                parsed.Positionals.Add(arg);
                continue;
            }
            if (arg == "--")
            {
                onlyPositionals = true;
                continue;
            }
            if (arg is "-h" or "--help")
            {
                parsed.Help = true;
                continue;
            }
            // --flag=value is accepted as well as --flag value.
            string? inline = null;
            var eq = arg.IndexOf('=');
            if (eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            if (switchFlags.Contains(arg))
            {
                if (inline is not null)
                {
                    throw new UsageException($"{verb}: {arg} takes no value");
                }
                parsed._switches.Add(arg);
            }
            else if (valueFlags.Contains(arg))
            {
                if (parsed._values.ContainsKey(arg))
                {
                    throw new UsageException($"{verb}: {arg} given more than once");
                }
                if (inline is null)
                {
                    if (i + 1 >= args.Count)
                    {
                        throw new UsageException($"{verb}: {arg} needs a value");
                    }
                    inline = args[++i];
                }
                parsed._values[arg] = inline;
            }
            else
            {
                throw new UsageException($"{verb}: unknown flag '{arg}' (see '{verb} --help')");
            }
        }
        return parsed;
    }

    public string? Value(string flag) => _values.GetValueOrDefault(flag);

    public bool Switch(string flag) => _switches.Contains(flag);
}
