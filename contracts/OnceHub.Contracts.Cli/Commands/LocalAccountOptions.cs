using System.CommandLine;
using System.Globalization;
using OnceHub.Account;
using OnceHub.Contracts.CommandLine;
using OnceHub.LocalDelivery;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary>Options shared by the local-account verbs (trigger, deliveries, resend, webhooks).</summary>
internal static class LocalAccountOptions
{
    /// <summary>The dev stack's embedded account (Pulumi.dev.yaml: <c>oncehub:apiUrl</c>).</summary>
    public const string DefaultAccount = "file:./.oncehub/dev-account";

    public static Option<string> Account() => new("--account")
    {
        Description = $"the local OnceHub account, file:PATH (default {DefaultAccount}, the dev stack's)",
        DefaultValueFactory = _ => DefaultAccount,
    };

    public static Option<double?> TimeScale() => new("--time-scale")
    {
        Description = "run the retry schedule N times faster (35 s take 35/N s)",
        HelpName = "N",
        CustomParser = r => CommonOptions.Parse<double?>(r, "--time-scale", static v => Parsing.Number("--time-scale", v)),
    };

    public static Option<bool> VirtualTime() => new("--virtual-time")
    {
        Description = "run the retry schedule in virtual time: the whole 72 h window in milliseconds",
    };

    public static Option<double?> AttemptTimeout() => new("--attempt-timeout")
    {
        Description = "seconds one attempt may take (OnceHub documents none; default " +
            OnceHub.Contracts.Delivery.DeliveryOptions.DefaultAttemptTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture) + ", an assumption)",
        HelpName = "SECONDS",
        CustomParser = r => CommonOptions.Parse<double?>(r, "--attempt-timeout", static v => Parsing.Number("--attempt-timeout", v)),
    };

    /// <summary>The account folder from <c>file:PATH</c>, or an error naming the rule.</summary>
    public static string? Folder(string? value, out string? error)
    {
        error = null;
        if (value is null || !value.StartsWith("file:", StringComparison.Ordinal) || value.Length == "file:".Length
            || value.Contains('\0', StringComparison.Ordinal))
        {
            error = $"--account must be file:PATH, the folder of a local OnceHub account (got '{value}')";
            return null;
        }
        var folder = OnceHub.Account.UserPath.Resolve(value["file:".Length..]);
        // Opening an account creates its folder: a mistyped path must not leave an empty account behind.
        if (!File.Exists(Path.Combine(folder, OnceHub.Account.FileAccountStore.StateFileName)))
        {
            error = $"no local OnceHub account at '{folder}' (it holds no {OnceHub.Account.FileAccountStore.StateFileName}; " +
                "create webhooks first, e.g. pulumi up -s dev)";
            return null;
        }
        return folder;
    }

    /// <summary>Delivery settings from the time options, or an error naming the option.</summary>
    public static LocalDeliveryOptions? Delivery(double? n, bool isVirtual, double? seconds, out string? error)
    {
        error = null;
        if (n is not null && isVirtual)
        {
            error = "--time-scale and --virtual-time exclude each other";
            return null;
        }
        if (n is { } s && (!double.IsFinite(s) || s <= 0))
        {
            error = "--time-scale must be a positive number (e.g. 60: a minute of schedule per second)";
            return null;
        }
        if (seconds is { } t && (!double.IsFinite(t) || t <= 0 || t > 600))
        {
            error = "--attempt-timeout must be a number of seconds in (0, 600]";
            return null;
        }
        var options = new LocalDeliveryOptions
        {
            Time = isVirtual ? DeliveryTime.Virtual() : n is { } k ? DeliveryTime.Scaled(k) : DeliveryTime.Real(),
            // Without a time option a verb runs on the clock of the account's deliveries, e.g. an emulator's.
            FollowAccountClock = n is null && !isVirtual,
        };
        return seconds is { } limit ? options with { AttemptTimeout = TimeSpan.FromSeconds(limit) } : options;
    }

    /// <summary>An event id as typed; one of another shape is bad input (exit 2), not an event that is missing (exit 1).</summary>
    public static string EventId(string what, string text) => EventIds.IsUsable(text)
        ? text
        : throw new UsageException($"{what}: '{Parsing.Printable(text)}' is not an event id ({EventIds.Rule})");

    /// <summary>A webhook id as typed; one of another shape is bad input (exit 2), not a webhook that is missing (exit 1).</summary>
    public static string WebhookId(string what, string text) => WebhookRules.IsWellFormedId(text)
        ? text
        : throw new UsageException($"{what}: '{Parsing.Printable(text)}' is not a webhook id ({WebhookRules.IdRule})");

    /// <summary>Runs a verb's body, turning the local delivery's expected failures into one line and an exit code.</summary>
    public static async Task<int> GuardAsync(ParseResult parse, Func<TextWriter, TextWriter, Task<int>> body)
    {
        var output = parse.InvocationConfiguration.Output;
        var error = parse.InvocationConfiguration.Error;
        try
        {
            return await body(output, error);
        }
        catch (Exception ex) when (ex is PayloadOverrideException or LocalDeliveryClockException)
        {
            await error.WriteLineAsync(CommandLineErrors.Line(ex.Message));
            return ExitCodes.BadInput;
        }
        catch (Exception ex) when (ex is LocalDeliveryException or OnceHub.Account.AccountStoreException)
        {
            await error.WriteLineAsync(CommandLineErrors.Line(ex.Message));
            return ExitCodes.Failed;
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: whatever is pending stays pending in the account's store.
            await error.WriteLineAsync(CommandLineErrors.Line("interrupted; what is pending stays pending in the account"));
            return ExitCodes.Interrupted;
        }
    }

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string Offset(TimeSpan offset) => offset.TotalSeconds < 60
        ? offset.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s"
        : offset.TotalHours < 1 ? $"{(int)offset.TotalMinutes} min {offset.Seconds} s"
        : $"{(int)offset.TotalHours} h {offset.Minutes} min {offset.Seconds} s";
}
