using System.Globalization;
using Spectre.Console;

namespace OnceHub.Contracts.Cli.Output;

/// <summary>
/// Progress of a run whose total is known from the start. On a terminal: one line updated in place.
/// Otherwise (CI logs, files): at most one line per <see cref="LogInterval"/>, and none for a run
/// shorter than that.
/// </summary>
internal sealed class ProgressDisplay(IAnsiConsole console, string what, int total, TimeProvider? clock = null)
{
    public static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private int _done;

    /// <summary>Called from any thread as work finishes.</summary>
    public void Report(int done, int _) => Volatile.Write(ref _done, done);

    private string Line => string.Create(CultureInfo.InvariantCulture, $"{what}: {Volatile.Read(ref _done)}/{total} checks done");

    public Task FollowAsync(Task run) =>
        console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi ? InPlaceAsync(run) : LogLinesAsync(run);

    private async Task InPlaceAsync(Task run)
    {
        await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(Line), maxValue: total);
                while (!run.IsCompleted)
                {
                    task.Value = Volatile.Read(ref _done);
                    task.Description = Markup.Escape(Line);
                    await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(100), _clock)).ConfigureAwait(false);
                }
                task.Value = Volatile.Read(ref _done);
                task.Description = Markup.Escape(Line);
            }).ConfigureAwait(false);
    }

    private async Task LogLinesAsync(Task run)
    {
        while (!run.IsCompleted)
        {
            if (await Task.WhenAny(run, Task.Delay(LogInterval, _clock)).ConfigureAwait(false) == run)
            {
                return;
            }
            console.Profile.Out.Writer.WriteLine(Line);
        }
    }
}
