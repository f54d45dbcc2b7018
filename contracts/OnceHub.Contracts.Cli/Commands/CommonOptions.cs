using System.CommandLine;
using System.CommandLine.Parsing;
using OnceHub.Contracts.Delivery;
using OnceHub.Events;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary>
/// Options more than one command takes, each validated while parsing, so bad input is refused (exit 2)
/// before anything runs.
/// </summary>
internal static class CommonOptions
{
    public static Option<string?> Secret() => new("--secret")
    {
        Description = $"the webhook's signing secret (or the {CliApp.SecretVariable} environment variable); never printed",
        HelpName = "S",
        CustomParser = r => Parse(r, "--secret", static v => v switch
        {
            "" => throw new UsageException("--secret must not be empty"),
            // "--secret --timestamp T" took the next option as the secret: say which value is missing.
            _ when v.StartsWith("--", StringComparison.Ordinal) =>
                throw new UsageException($"--secret needs a value; '{Parsing.Printable(v)}' is the next option (a secret may also come from {CliApp.SecretVariable})"),
            _ => v,
        }),
    };

    /// <summary>The secret from <paramref name="option"/>, else from the environment, else null.</summary>
    public static string? SecretValue(ParseResult parsed, Option<string?> option) =>
        parsed.GetValue(option) ?? (CliEnvironment.Get(CliApp.SecretVariable) is { Length: > 0 } fromEnv ? fromEnv : null);

    /// <summary>Without a default value in the option, so help shows "default 10" in seconds, not a TimeSpan.</summary>
    public static Option<TimeSpan?> Timeout() => new("--timeout")
    {
        Description = $"per-request limit in seconds (0.05 to 600), default {DeliveryOptions.DefaultAttemptTimeout.TotalSeconds}: "
            + "an assumption, OnceHub documents no per-attempt timeout",
        HelpName = "SECONDS",
        CustomParser = r => Parse<TimeSpan?>(r, "--timeout", static v => Parsing.Seconds("--timeout", v, 0.05, 600)),
    };

    public static TimeSpan TimeoutValue(ParseResult parsed, Option<TimeSpan?> option) =>
        parsed.GetValue(option) ?? DeliveryOptions.DefaultAttemptTimeout;

    public static Option<Uri?> Target(bool required) => new("--target")
    {
        Description = "the receiver endpoint, an absolute http(s) URL",
        HelpName = "URL",
        Required = required,
        CustomParser = r => Parse<Uri?>(r, "--target", static v => Parsing.Url("--target", v)),
    };

    public static Option<IReadOnlyList<EventType>?> Events() => new("--events")
    {
        Description = "comma-separated events; 'booking' or 'conversation' stand for their family",
        HelpName = "LIST",
        CustomParser = r => Parse<IReadOnlyList<EventType>?>(r, "--events", static v => Parsing.Events("--events", v)),
    };

    /// <summary>Runs a text parser on the option's one token; its one-line message becomes a parse error.</summary>
    public static T? Parse<T>(ArgumentResult result, string flag, Func<string, T> parse)
    {
        if (result.Tokens.Count != 1)
        {
            result.AddError($"{flag} needs exactly one value");
            return default;
        }
        try
        {
            return parse(result.Tokens[0].Value);
        }
        catch (UsageException ex)
        {
            result.AddError(ex.Message);
            return default;
        }
    }
}
