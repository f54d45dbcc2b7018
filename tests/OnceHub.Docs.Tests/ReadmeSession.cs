using System.Text;

namespace OnceHub.Docs.Tests;

/// <summary>
/// One README as one bash session, as a reader typing its blocks in order: the blocks run one after the
/// other from the repository root (a <c>cd</c> carries on), servers in the background until the end, each
/// waited for until it says it is ready; files written where the reader stands.
/// </summary>
public sealed class ReadmeSession
{
    /// <summary>The command .ci/run runs itself; a README line starting with it is checked against .ci/run instead.</summary>
    public const string SuiteCommand = "dotnet test OnceHubStack.sln";

    private const string Eof = "__README_BLOCK_END__";

    private ReadmeSession(string script, int run, int files, int servers, int byCi, IReadOnlyList<ReadmeBlock> runByTests, IReadOnlyList<ReadmeBlock> notRun)
    {
        Script = script;
        Run = run;
        Files = files;
        Servers = servers;
        ByCi = byCi;
        RunByTests = runByTests;
        NotRun = notRun;
    }

    public string Script { get; }

    /// <summary>Command blocks run here, servers included.</summary>
    public int Run { get; }

    public int Files { get; }

    public int Servers { get; }

    /// <summary>Lines left to .ci/run (the test suite itself).</summary>
    public int ByCi { get; }

    public IReadOnlyList<ReadmeBlock> RunByTests { get; }

    public IReadOnlyList<ReadmeBlock> NotRun { get; }

    public static ReadmeSession Build(IReadOnlyList<ReadmeBlock> blocks, string logFolder)
    {
        var script = new StringBuilder();
        script.AppendLine("set -euo pipefail");
        // An interactive shell expands aliases; the READMEs define some.
        script.AppendLine("shopt -s expand_aliases");
        script.AppendLine("""
            wait_ready() {
              local log=$1 text=$2 pid=$3 deadline=$((SECONDS + 300))
              until grep -qF -- "$text" "$log"; do
                if ! kill -0 "$pid" 2>/dev/null; then echo "the server stopped before it printed '$text':"; cat "$log"; return 1; fi
                if (( SECONDS >= deadline )); then echo "the server did not print '$text' within 300 s:"; cat "$log"; return 1; fi
                sleep 0.2
              done
            }
            """);
        int run = 0, files = 0, servers = 0, byCi = 0;
        var runBy = new List<ReadmeBlock>();
        var notRun = new List<ReadmeBlock>();
        foreach (var block in blocks)
        {
            if (block.Kind == BlockKind.NotRun)
            {
                notRun.Add(block);
                continue;
            }
            if (block.Kind == BlockKind.RunBy)
            {
                runBy.Add(block);
                continue;
            }
            if (block.Kind == BlockKind.File)
            {
                files++;
                script.AppendLine($"echo '>>> {block.Where}: write {Quote(block.Argument)}'");
                script.AppendLine($"cat > '{Quote(block.Argument)}' <<'{Eof}'");
                script.AppendLine(block.Text);
                script.AppendLine(Eof);
                continue;
            }
            if (!block.IsCommands)
            {
                if (block.Language == "csharp")
                {
                    throw new FormatException($"{block.Where}: a C# block must say which file it is (<!-- file: PATH -->) so that it is built");
                }
                continue;
            }
            var text = LeaveSuiteToCi(block.Text, ref byCi);
            script.AppendLine($"echo '>>> {block.Where}'");
            switch (block.Kind)
            {
                case BlockKind.Server:
                    servers++;
                    var log = Path.Combine(logFolder, $"server-{servers}.log");
                    script.AppendLine("{");
                    script.AppendLine(text);
                    script.AppendLine($"}} > '{Quote(log)}' 2>&1 &");
                    script.AppendLine($"wait_ready '{Quote(log)}' '{Quote(block.Argument)}' $!");
                    script.AppendLine($"cat '{Quote(log)}'");
                    break;
                case BlockKind.Exit:
                    script.AppendLine("set +e");
                    script.AppendLine("(");
                    script.AppendLine("set -e");
                    script.AppendLine(text);
                    script.AppendLine(")");
                    script.AppendLine("code=$?");
                    script.AppendLine("set -e");
                    script.AppendLine($"if [ \"$code\" -ne {block.Argument} ]; then echo \"{block.Where}: exit code $code, the README says {block.Argument}\"; exit 1; fi");
                    break;
                default:
                    script.AppendLine(text);
                    break;
            }
            run++;
        }
        script.AppendLine("echo '>>> end'");
        return new ReadmeSession(script.ToString(), run, files, servers, byCi, runBy, notRun);
    }

    private static string LeaveSuiteToCi(string text, ref int byCi)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart().StartsWith(SuiteCommand, StringComparison.Ordinal))
            {
                // Running the suite from inside the suite would never end; .ci/run runs it.
                lines[i] = ": " + SuiteCommand + " is run by .ci/run";
                byCi++;
            }
        }
        return string.Join('\n', lines);
    }

    private static string Quote(string text) => text.Replace("'", "'\\''", StringComparison.Ordinal);
}
