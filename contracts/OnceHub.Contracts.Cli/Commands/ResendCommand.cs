using System.CommandLine;
using OnceHub.Contracts.CommandLine;
using OnceHub.LocalDelivery;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary>
/// <c>resend EVENT_ID</c>: a new delivery of an event the local account already delivered, same id and body,
/// signed afresh; attempt 1 is sent here, retries by whichever process delivers for the account.
/// </summary>
internal static class ResendCommand
{
    public static Command Create()
    {
        var eventId = new Argument<string>("EVENT_ID") { Description = "the event to deliver again (EVNT-..., see 'deliveries')" };
        var webhookId = new Option<string?>("--webhook") { Description = "only to this webhook (default: every webhook that got it and is still in the account)" };
        var account = LocalAccountOptions.Account();
        var timeout = LocalAccountOptions.AttemptTimeout();
        var command = new Command("resend", "Deliver an event again, with the same event id, as a new delivery")
        {
            eventId, webhookId, account, timeout,
        };
        command.SetAction((parse, ct) => LocalAccountOptions.GuardAsync(parse, async (output, error) =>
        {
            var folder = LocalAccountOptions.Folder(parse.GetValue(account), out var problem);
            var options = LocalAccountOptions.Delivery(null, false, parse.GetValue(timeout), out var timeProblem);
            if (folder is null || options is null)
            {
                await error.WriteLineAsync(CommandLineErrors.Line(problem ?? timeProblem));
                return ExitCodes.BadInput;
            }
            var id = LocalAccountOptions.EventId("EVENT_ID", parse.GetValue(eventId)!);
            var webhook = parse.GetValue(webhookId) is { } w ? LocalAccountOptions.WebhookId("--webhook", w) : null;
            using var deliverer = LocalDeliverer.OpenFolder(folder, options);
            var result = FanOutJson.From(await deliverer.ResendAsync(id, webhook, ct));
            await output.WriteLineAsync($"{result.EventId} {result.Type} resent -> {result.Webhooks.Count} webhook(s)");
            foreach (var line in result.Lines())
            {
                await output.WriteLineAsync("  " + line);
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
