using System.Diagnostics;
using OnceHub.TestSupport;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace OnceHub.Docs.Tests;

/// <summary>
/// Docs are tests: every command block a README tells its reader to run runs here as written, README by
/// README in one fresh copy of the repository (later READMEs reuse what earlier ones built, as a reader's
/// clone would). A block is left out only with a marker saying why: run by a test of its own, or needing the
/// Pulumi CLI or a real OnceHub account.
/// </summary>
public sealed class ReadmeTests(ReadmeTests.Copy copy, ITestOutputHelper output) : IClassFixture<ReadmeTests.Copy>
{
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromMinutes(10);

    public static TheoryData<string> Readmes() => [.. RepositoryCopy.Readmes()];

    [Theory]
    [MemberData(nameof(Readmes))]
    public async Task The_command_blocks_of_a_readme_run_as_written(string readme)
    {
        var blocks = ReadmeParser.Parse(readme, await File.ReadAllTextAsync(Path.Combine(copy.Repository.Root, readme)));
        var logs = Directory.CreateTempSubdirectory("oncehub-docs-logs-").FullName;
        var session = ReadmeSession.Build(blocks, logs);
        AssertLeftOutForAReason(session);
        output.WriteLine($"{readme}: {session.Run} command block(s) run ({session.Servers} server(s)), {session.Files} file(s) written, " +
            $"{session.ByCi} line(s) left to .ci/run, {session.RunByTests.Count} run by a test, {session.NotRun.Count} not run");
        foreach (var block in session.NotRun)
        {
            output.WriteLine($"  not run: {block.Where}: {block.Argument}");
        }
        if (session.Run + session.Files == 0)
        {
            Directory.Delete(logs);
            return;
        }

        var script = Path.Combine(logs, "session.sh");
        var log = Path.Combine(logs, "session.log");
        await File.WriteAllTextAsync(script, $"exec > '{log}' 2>&1 < /dev/null\ncd '{copy.Repository.Root}'\n" + session.Script);
        var (exited, code) = await RunSessionAsync(script);
        var said = await File.ReadAllTextAsync(log);
        Assert.True(exited, $"{readme} did not finish within {SessionTimeout.TotalMinutes} min; its output ends:\n{Tail(said)}");
        Assert.True(code == 0, $"{readme}: the block last started (>>>) failed with exit code {code}; the output ends:\n{Tail(said)}");
        Assert.Contains(">>> end", said, StringComparison.Ordinal);
        Directory.Delete(logs, recursive: true);
    }

    [Fact]
    public void Every_block_left_out_says_why_and_the_count_is_printed()
    {
        var notRun = new List<ReadmeBlock>();
        var runBy = new List<ReadmeBlock>();
        var run = 0;
        foreach (var readme in RepositoryCopy.Readmes())
        {
            var session = ReadmeSession.Build(ReadmeParser.Parse(readme, File.ReadAllText(Path.Combine(Repository.Root, readme))), Path.GetTempPath());
            AssertLeftOutForAReason(session);
            notRun.AddRange(session.NotRun);
            runBy.AddRange(session.RunByTests);
            run += session.Run + session.Files;
        }
        var summary = $"README blocks: {run} run by the docs tests, {runBy.Count} run by other tests, {notRun.Count} marked not run " +
            $"({notRun.Count(b => b.Argument.Contains("Pulumi CLI", StringComparison.Ordinal))} need the Pulumi CLI, " +
            $"{notRun.Count(b => b.Argument.Contains("OnceHub account", StringComparison.Ordinal))} a real OnceHub account)";
        output.WriteLine(summary);
        // A diagnostic message reaches the console of every run (xunit.runner.json), passed or not.
        copy.Sink.OnMessage(new DiagnosticMessage(summary));
        Assert.True(run > 0, "the READMEs hold blocks to run");
    }

    private static void AssertLeftOutForAReason(ReadmeSession session)
    {
        foreach (var block in session.NotRun)
        {
            Assert.True(block.Argument.Contains("Pulumi CLI", StringComparison.Ordinal) || block.Argument.Contains("real OnceHub account", StringComparison.Ordinal),
                $"{block.Where}: a block is left out only when it needs the Pulumi CLI or a real OnceHub account, not for '{block.Argument}'");
        }
        foreach (var block in session.RunByTests)
        {
            var test = Path.Combine(Repository.Root, block.Argument);
            Assert.True(File.Exists(test), $"{block.Where}: no test file '{block.Argument}' runs this block");
            var source = File.ReadAllText(test);
            foreach (var command in block.Text.Split('\n').Where(l => l.StartsWith("dotnet ", StringComparison.Ordinal)))
            {
                var verb = command.Split(' ')[1];
                // A C# runner names the verb as an argument; a shell script runs the command itself.
                var runs = source.Contains($"\"{verb}\"", StringComparison.Ordinal) || source.Contains($"dotnet {verb} ", StringComparison.Ordinal);
                Assert.True(runs, $"{block.Where}: '{block.Argument}' does not run 'dotnet {verb}'");
            }
        }
        if (session.ByCi > 0)
        {
            // .ci/run hands the test command to scripts/test.sh, which the workflows run too.
            var ci = File.ReadAllText(Path.Combine(Repository.Root, ".ci", "run"));
            Assert.Contains("scripts/test.sh", ci, StringComparison.Ordinal);
            Assert.Contains(ReadmeSession.SuiteCommand, File.ReadAllText(Path.Combine(Repository.Root, "scripts", "test.sh")), StringComparison.Ordinal);
        }
    }

    private static async Task<(bool Exited, int Code)> RunSessionAsync(string script)
    {
        // A session of its own, so that its servers and whatever they started end with it.
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("bash");
        start.ArgumentList.Add(script);
        foreach (var variable in new[] { "ONCEHUB_WEBHOOK_SECRET", "ONCEHUB_WEBHOOK_SECRETS", "ONCEHUB_API_KEY" })
        {
            start.Environment.Remove(variable);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var bash = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(SessionTimeout);
        var exited = true;
        try
        {
            await bash.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            exited = false;
        }
        await EndGroupAsync(bash.Id);
        return (exited, exited ? bash.ExitCode : -1);
    }

    private static async Task EndGroupAsync(int group)
    {
        Signal(group, "TERM");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (Signal(group, "0") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Signal(group, "KILL");
    }

    /// <summary>Sends a signal to a whole process group; whether any process of it was there.</summary>
    private static bool Signal(int group, string signal)
    {
        var start = new ProcessStartInfo("kill") { UseShellExecute = false, RedirectStandardError = true };
        string[] args = signal == "0" ? ["-0", "--", "-" + group] : ["-s", signal, "--", "-" + group];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var kill = Process.Start(start)!;
        kill.StandardError.ReadToEnd();
        kill.WaitForExit();
        return kill.ExitCode == 0;
    }

    private static string Tail(string text)
    {
        var lines = text.Split('\n');
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 80)));
    }

    /// <summary>The one copy of the repository the READMEs of a run share, removed at the end.</summary>
    public sealed class Copy(IMessageSink sink) : IDisposable
    {
        public RepositoryCopy Repository { get; } = new();

        public IMessageSink Sink { get; } = sink;

        public void Dispose() => Repository.Dispose();
    }
}
