using System.CommandLine;
using OnceHub.Account;
using OnceHub.Contracts.CommandLine;
using OnceHub.LocalDelivery;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary>
/// <c>webhooks list</c> and <c>webhooks enable ID</c>: the local account's webhooks with their local delivery
/// state. The disabled state lives only in the account's delivery store, never in the API's JSON, because
/// OnceHub documents no such field.
/// </summary>
internal static class WebhooksCommand
{
    public static Command Create()
    {
        var list = new Command("list", "List the account's webhooks and whether each is enabled or disabled (local state)");
        var listAccount = LocalAccountOptions.Account();
        list.Options.Add(listAccount);
        list.SetAction((parse, _) => LocalAccountOptions.GuardAsync(parse, async (output, error) =>
        {
            if (Open(parse, listAccount, out var problem) is not var (webhooks, store))
            {
                await error.WriteLineAsync(CommandLineErrors.Line(problem!));
                return ExitCodes.BadInput;
            }
            using (store)
            {
                var all = webhooks.Snapshot();
                var disabled = store.Disabled();
                if (all.Count == 0)
                {
                    await output.WriteLineAsync("no webhooks in the account");
                }
                foreach (var w in all)
                {
                    var state = disabled.TryGetValue(w.Id, out var d)
                        ? $"DISABLED (local state) since {LocalAccountOptions.Time(d.DisabledAt)}: {d.Reason}"
                        : "enabled";
                    await output.WriteLineAsync($"{w.Id}  {w.Name}  {w.Url}  [{string.Join(",", w.Events)}]  {state}");
                }
                return ExitCodes.Ok;
            }
        }));

        var enable = new Command("enable", "Local convenience, not an OnceHub API call: clear a webhook's disabled state (on OnceHub, re-create the webhook)");
        var id = new Argument<string>("ID") { Description = "the webhook id (WHK-...)" };
        var enableAccount = LocalAccountOptions.Account();
        enable.Arguments.Add(id);
        enable.Options.Add(enableAccount);
        enable.SetAction((parse, _) => LocalAccountOptions.GuardAsync(parse, async (output, error) =>
        {
            if (Open(parse, enableAccount, out var problem) is not var (webhooks, store))
            {
                await error.WriteLineAsync(CommandLineErrors.Line(problem!));
                return ExitCodes.BadInput;
            }
            using (store)
            {
                var webhookId = LocalAccountOptions.WebhookId("ID", parse.GetValue(id)!);
                if (!webhooks.Get(webhookId).IsSuccess)
                {
                    await error.WriteLineAsync(CommandLineErrors.Line($"no webhook '{webhookId}' in the account"));
                    return ExitCodes.Failed;
                }
                await output.WriteLineAsync(store.Enable(webhookId)
                    ? $"{webhookId} enabled (local convenience: OnceHub has no such call; there, re-create the webhook). Deliveries dropped while it was disabled stay dropped."
                    : $"{webhookId} was not disabled");
                return ExitCodes.Ok;
            }
        }));

        return new Command("webhooks", "The local account's webhooks and their local delivery state") { list, enable };
    }

    private static (IAccountStore Webhooks, DeliveryStore Store)? Open(ParseResult parse, Option<string> account, out string? problem)
    {
        var folder = LocalAccountOptions.Folder(parse.GetValue(account), out problem);
        return folder is null ? null : (new FileAccountStore(folder), new DeliveryStore(folder));
    }
}
