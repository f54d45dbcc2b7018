using System.Security.Cryptography;

namespace OnceHub.Webhooks;

/// <summary>
/// The one rule for a usable event id: <c>EVNT-</c> and 1 to <see cref="MaxSuffixLength"/> ASCII letters or
/// digits, matched as a whole string. Written as a loop, not a regular expression, because .NET's <c>$</c>
/// also matches before a final newline, which made <c>EVNT-X\n</c> a second, distinct valid id.
/// </summary>
public static class EventIds
{
    public const string Prefix = "EVNT-";

    /// <summary>Longest id suffix accepted: ids become database keys, so their length is bounded.</summary>
    public const int MaxSuffixLength = 128;

    public const string Rule = "EVNT- and 1 to 128 letters or digits";

    /// <summary>A fresh id in OnceHub's shape (<c>EVNT-</c> and 10 capital letters or digits), for events made locally.</summary>
    public static string NewId() => Prefix + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10);

    public static bool IsUsable(string? id)
    {
        if (id is null || !id.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }
        var suffix = id.AsSpan(Prefix.Length);
        if (suffix.Length is 0 or > MaxSuffixLength)
        {
            return false;
        }
        foreach (var c in suffix)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }
        return true;
    }
}
