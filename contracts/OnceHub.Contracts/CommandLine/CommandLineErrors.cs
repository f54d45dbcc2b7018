namespace OnceHub.Contracts.CommandLine;

/// <summary>
/// The one format of an error line on stderr for every program here: <c>error: MESSAGE</c>, one line, and
/// <c>(see --help)</c> after a parse error.
/// </summary>
public static class CommandLineErrors
{
    /// <summary>An error found while running: <c>error: MESSAGE</c> (its first line only).</summary>
    public static string Line(string? message) => "error: " + FirstLine(message ?? "");

    /// <summary>An error found while parsing the command line.</summary>
    public static string Parse(string message) => Line(message) + " (see --help)";

    /// <summary>A verb that does not exist, with the closest ones by edit distance (at most three), when any is close.</summary>
    public static string UnknownVerb(string verb, IEnumerable<string> verbs)
    {
        var close = Closest(verb, verbs);
        var known = close.Count > 0 ? $"; did you mean {string.Join(" or ", close.Select(v => $"'{v}'"))}?" : "";
        return Parse($"unknown command '{verb}'{known}");
    }

    /// <summary>The candidates within an edit distance of a third of the word's length (at least 2), closest first.</summary>
    public static IReadOnlyList<string> Closest(string word, IEnumerable<string> candidates)
    {
        var limit = Math.Max(2, word.Length / 3);
        return [.. candidates
            .Select(c => (Name: c, Distance: EditDistance(word.ToLowerInvariant(), c.ToLowerInvariant())))
            .Where(c => c.Distance <= limit || c.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase) && word.Length > 0)
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .Take(3)
            .Select(c => c.Name)];
    }

    public static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
