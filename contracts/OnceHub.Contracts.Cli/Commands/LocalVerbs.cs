using System.CommandLine;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary>The verbs that act on a local OnceHub account (the embedded file account or the emulator).</summary>
internal static class LocalVerbs
{
    public static IEnumerable<Command> All() =>
        [TriggerCommand.Create(), DeliveriesCommand.Create(), ResendCommand.Create(), WebhooksCommand.Create()];
}
