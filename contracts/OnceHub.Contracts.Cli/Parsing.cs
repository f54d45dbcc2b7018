using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using OnceHub.Contracts.CommandLine;
using OnceHub.Events;

namespace OnceHub.Contracts.Cli;

/// <summary>Turns command-line text into values, with one-line errors that name the flag and the rule.</summary>
internal static partial class Parsing
{
    [GeneratedRegex(@"^(?:(?<d>\d{1,5})d)?(?:(?<h>\d{1,6})h)?(?:(?<m>\d{1,8})m)?(?:(?<s>\d{1,10})s)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    /// <summary>Durations such as 90s, 35m, 5h, 2d, 1h30m (units in that order, at least one).</summary>
    public static TimeSpan Duration(string flag, string text)
    {
        var match = DurationPattern().Match(text);
        if (text.Length == 0 || !match.Success)
        {
            throw new UsageException($"{flag}: '{Printable(text)}' is not a duration; use e.g. 90s, 35m, 5h, 2d or 1h30m");
        }
        long Part(string name) => match.Groups[name].Success ? long.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromSeconds(((Part("d") * 24 + Part("h")) * 60 + Part("m")) * 60 + Part("s"));
    }

    /// <summary>Seconds, whole or fractional, within [min, max].</summary>
    public static TimeSpan Seconds(string flag, string text, double min, double max)
    {
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds)
            || double.IsNaN(seconds) || seconds < min || seconds > max)
        {
            throw new UsageException($"{flag}: '{Printable(text)}' must be a number of seconds from {min} to {max}");
        }
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>A plain decimal number (its range is checked where the flag is used).</summary>
    public static double Number(string flag, string text)
    {
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value))
        {
            throw new UsageException($"{flag}: '{Printable(text)}' is not a number");
        }
        return value;
    }

    public static long UnixSeconds(string flag, string text)
    {
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            throw new UsageException($"{flag}: '{Printable(text)}' must be whole unix seconds (digits only)");
        }
        return value;
    }

    /// <summary>An absolute http(s) URL.</summary>
    public static Uri Url(string flag, string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            throw new UsageException($"{flag}: '{Printable(text)}' is not an absolute http(s) URL");
        }
        return uri;
    }

    /// <summary>Comma-separated event names; a composite ("booking", "conversation") stands for its family.</summary>
    public static IReadOnlyList<EventType> Events(string flag, string text)
    {
        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0)
        {
            throw new UsageException($"{flag}: list at least one event");
        }
        foreach (var name in names)
        {
            if (!EventCatalog.IsSubscribable(name))
            {
                throw new UsageException($"{flag}: unknown event '{Printable(name)}'; known: {string.Join(", ", EventCatalog.SubscribableNames)}");
            }
        }
        return EventCatalog.Expand(names);
    }

    public static EventType Event(string what, string text) =>
        EventCatalog.TryGet(text, out var e)
            ? e
            : throw new UsageException($"{what}: unknown event '{Printable(text)}'; specific events: {string.Join(", ", EventCatalog.Specific.Select(s => s.Name))}");

    public static byte[] ReadFile(string what, string path)
    {
        var full = path;
        try
        {
            full = OnceHub.Account.UserPath.Resolve(path);
            return File.ReadAllBytes(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"{what}: cannot read '{Printable(full)}': {CommandLineErrors.FirstLine(ex.Message)}");
        }
    }

    /// <summary>Human form of a duration, e.g. 1h15m35s.</summary>
    public static string Human(TimeSpan t)
    {
        if (t == TimeSpan.Zero)
        {
            return "0s";
        }
        var sb = new StringBuilder();
        if (t.Days > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{t.Days}d");
        }
        if (t.Hours > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{t.Hours}h");
        }
        if (t.Minutes > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{t.Minutes}m");
        }
        if (t.Seconds > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{t.Seconds}s");
        }
        return sb.ToString();
    }

    /// <summary>User text echoed in an error: one line, bounded, control characters escaped.</summary>
    public static string Printable(string text)
    {
        var shown = text.Length > 80 ? text[..80] + "…" : text;
        var sb = new StringBuilder(shown.Length);
        foreach (var c in shown)
        {
            if (char.IsControl(c))
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
