using System.Text.RegularExpressions;

namespace OnceHub.Docs.Tests;

/// <summary>Reads the fenced blocks of a README (fences at the start of a line) and the marker just above each.</summary>
public static partial class ReadmeParser
{
    public static IReadOnlyList<ReadmeBlock> Parse(string readme, string text)
    {
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var blocks = new List<ReadmeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }
            var language = lines[i][3..].Trim().Split(' ', 2)[0];
            var start = i;
            var body = new List<string>();
            for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++)
            {
                body.Add(lines[i]);
            }
            if (i == lines.Length)
            {
                throw new FormatException($"{readme}:{start + 1}: a fenced block is never closed");
            }
            var (kind, argument) = MarkerAbove(lines, start, readme);
            blocks.Add(new ReadmeBlock(readme, start + 1, language, string.Join('\n', body), kind, argument));
        }
        return blocks;
    }

    private static (BlockKind Kind, string Argument) MarkerAbove(string[] lines, int fence, string readme)
    {
        var above = fence - 1;
        while (above >= 0 && lines[above].Trim().Length == 0)
        {
            above--;
        }
        if (above < 0 || Marker().Match(lines[above].Trim()) is not { Success: true } match)
        {
            return (BlockKind.Plain, "");
        }
        var argument = match.Groups["arg"].Value.Trim();
        return match.Groups["key"].Value switch
        {
            "server" when argument.StartsWith("ready when it prints ", StringComparison.Ordinal) => (BlockKind.Server, argument["ready when it prints ".Length..]),
            "file" => (BlockKind.File, argument),
            "exit" when int.TryParse(argument, out _) => (BlockKind.Exit, argument),
            "run by" => (BlockKind.RunBy, argument),
            "not run" => (BlockKind.NotRun, argument),
            _ => throw new FormatException($"{readme}:{fence + 1}: unknown marker '{lines[above].Trim()}'"),
        };
    }

    [GeneratedRegex("^<!-- (?<key>[a-z ]+): (?<arg>.+) -->$")]
    private static partial Regex Marker();
}
