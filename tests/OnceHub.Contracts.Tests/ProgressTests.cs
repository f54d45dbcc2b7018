using Microsoft.Extensions.Time.Testing;
using OnceHub.Contracts.Cli.Output;
using OnceHub.TestSupport;
using Spectre.Console.Testing;

namespace OnceHub.Contracts.Tests;

public class ProgressTests
{
    [Fact]
    public async Task On_a_terminal_one_line_shows_the_known_total_from_the_start()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences();
        console.Profile.Capabilities.Ansi = true;
        var progress = new ProgressDisplay(console, "verify", 84);
        progress.Report(0, 84);
        var run = new TaskCompletionSource();

        var follow = progress.FollowAsync(run.Task);
        await WaitForAsync(() => console.Output.Contains("verify: 0/84 checks done", StringComparison.Ordinal));
        progress.Report(42, 84);
        await WaitForAsync(() => console.Output.Contains("verify: 42/84 checks done", StringComparison.Ordinal));
        run.SetResult();
        await follow;

        Assert.Contains("verify: 0/84 checks done", console.Output, StringComparison.Ordinal);
        Assert.Contains("verify: 42/84 checks done", console.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("0/0", console.Output, StringComparison.Ordinal);
        // Updated in place: the cursor moves back up over the line instead of adding lines.
        Assert.Contains("\u001b[", console.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("verify: 42/84 checks done\n", console.Output.Replace("\r", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Not_on_a_terminal_at_most_one_line_every_5_seconds()
    {
        var clock = new FakeTimeProvider();
        var console = new TestConsole();
        var progress = new ProgressDisplay(console, "verify", 84, clock);
        var run = new TaskCompletionSource();

        var follow = progress.FollowAsync(run.Task);
        progress.Report(10, 84);
        clock.Advance(TimeSpan.FromSeconds(4.9));
        await Task.Delay(50);
        Assert.Equal("", console.Output);

        clock.Advance(TimeSpan.FromSeconds(0.1));
        await WaitForAsync(() => console.Output.Length > 0);
        Assert.Equal("verify: 10/84 checks done\n", console.Output.Replace("\r", "", StringComparison.Ordinal));

        progress.Report(30, 84);
        clock.Advance(TimeSpan.FromSeconds(5));
        await WaitForAsync(() => console.Lines.Count(l => l.Length > 0) >= 2);
        run.SetResult();
        await follow;
        Assert.Equal(["verify: 10/84 checks done", "verify: 30/84 checks done"], console.Lines.Where(l => l.Length > 0));
    }

    [Fact]
    public async Task Not_on_a_terminal_a_short_run_prints_no_progress()
    {
        var console = new TestConsole();
        var progress = new ProgressDisplay(console, "verify", 84, new FakeTimeProvider());
        await progress.FollowAsync(Task.CompletedTask);
        Assert.Equal("", console.Output);
    }

    private static async Task WaitForAsync(Func<bool> condition) =>
        Assert.True(await Eventually.HoldsWithinAsync(condition, TimeSpan.FromSeconds(10)));
}
