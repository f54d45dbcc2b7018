using System.CommandLine;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary>
/// Registers the local-account verbs. Until the CLI's root is a System.CommandLine <see cref="RootCommand"/>,
/// <see cref="CliApp"/> hands these verbs here; afterwards the root adds <see cref="All"/> and this shim goes.
/// </summary>
internal static class LocalVerbs
{
    public static IReadOnlyList<string> Names { get; } = ["trigger", "deliveries", "resend", "webhooks"];

    public static IEnumerable<Command> All() =>
        [TriggerCommand.Create(), DeliveriesCommand.Create(), ResendCommand.Create(), WebhooksCommand.Create()];

    /// <summary>Parses and runs one local verb; bad input (a parse error) exits 2, as every verb of the CLI.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var root = new RootCommand("OnceHub contract suite: local-account verbs");
        foreach (var command in All())
        {
            root.Subcommands.Add(command);
        }
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (var problem in parse.Errors)
            {
                await error.WriteLineAsync("error: " + problem.Message);
            }
            return LocalAccountOptions.BadInput;
        }
        return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }
}
