using System.CommandLine;
using OnceHub.Account;
using OnceHub.Contracts.Cli.Triggering;
using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Scenarios;
using OnceHub.Events;
using OnceHub.LocalDelivery;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary>
/// <c>trigger EVENT</c> or <c>trigger --scenario NAME</c>: fresh events fanned out to every webhook of the local
/// account subscribed to them, attempt 1 sent at once; retries are sent by whichever process delivers for the account
/// (<c>--follow</c>, or the emulator started with <c>--deliver</c>). The verb declares its options and hands each event
/// to an <see cref="ITriggerTarget"/>.
/// </summary>
internal static class TriggerCommand
{
    public const string ApiKeyVariable = ApiAuthentication.KeyVariable;

    public static Command Create()
    {
        var eventName = new Argument<string?>("EVENT")
        {
            Description = "the event type, e.g. booking.scheduled (" + string.Join(", ", EventCatalog.Specific.Select(e => e.Name)) + ")",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var scenario = new Option<string?>("--scenario") { Description = "instead of EVENT, a booking's or conversation's lifecycle, step by step (see --list-scenarios)" };
        var listScenarios = new Option<bool>("--list-scenarios") { Description = "print each scenario, one per line: its name, then its steps" };
        var account = LocalAccountOptions.Account();
        var api = new Option<string?>("--api") { Description = "a running emulator's API base URL instead of --account; it signs and delivers" };
        var apiKey = new Option<string?>("--api-key") { Description = $"the emulator's API key (or {ApiKeyVariable})" };
        var set = new Option<string[]>("--set")
        {
            Description = "PATH=VALUE into the payload (e.g. data.subject=Demo), every step's with --scenario; VALUE is JSON when it parses, else a string; repeatable",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var follow = new Option<bool>("--follow") { Description = "stay and send the retries until every delivery of the event has ended" };
        var scale = LocalAccountOptions.TimeScale();
        var virtualTime = LocalAccountOptions.VirtualTime();
        var timeout = LocalAccountOptions.AttemptTimeout();
        var command = new Command("trigger", "Deliver a fresh event, or a lifecycle scenario's events, to every webhook of the local account subscribed to them")
        {
            eventName, scenario, listScenarios, account, api, apiKey, set, follow, scale, virtualTime, timeout,
        };
        command.SetAction((parse, ct) => LocalAccountOptions.GuardAsync(parse, async (output, error) =>
        {
            var name = parse.GetValue(eventName);
            var scenarioName = parse.GetValue(scenario);
            if (parse.GetValue(listScenarios))
            {
                if (name is not null || scenarioName is not null)
                {
                    await error.WriteLineAsync(CommandLineErrors.Parse("--list-scenarios takes no EVENT and no --scenario"));
                    return ExitCodes.BadInput;
                }
                await ListAsync(output);
                return ExitCodes.Ok;
            }
            if ((name is null) == (scenarioName is null))
            {
                await error.WriteLineAsync(CommandLineErrors.Parse("give either an EVENT or --scenario NAME"));
                return ExitCodes.BadInput;
            }
            LifecycleScenario? lifecycle = null;
            if (scenarioName is not null && !ScenarioCatalog.TryFind(scenarioName, out lifecycle))
            {
                await error.WriteLineAsync(CommandLineErrors.Line(ScenarioCatalog.Unknown(scenarioName)));
                return ExitCodes.BadInput;
            }
            if (name is not null && !EventCatalog.IsDeliverable(name))
            {
                await error.WriteLineAsync(CommandLineErrors.Line($"'{name}' is not an event type OnceHub delivers; expected one of "
                    + string.Join(", ", EventCatalog.Specific.Select(e => e.Name))));
                return ExitCodes.BadInput;
            }
            var overrides = new List<PayloadOverride>();
            foreach (var text in parse.GetValue(set) ?? [])
            {
                if (!PayloadOverride.TryParse(text, out var o, out var problem))
                {
                    await error.WriteLineAsync(CommandLineErrors.Line(problem));
                    return ExitCodes.BadInput;
                }
                overrides.Add(o!);
            }
            ITriggerTarget target;
            try
            {
                if (parse.GetValue(api) is { } apiUrl)
                {
                    if (parse.GetResult(account) is { Implicit: false } || parse.GetValue(scale) is not null || parse.GetValue(virtualTime) || parse.GetValue(timeout) is not null)
                    {
                        await error.WriteLineAsync(CommandLineErrors.Line("with --api the emulator delivers on its own clock: drop --account, --time-scale, --virtual-time and --attempt-timeout (start the emulator with them)"));
                        return ExitCodes.BadInput;
                    }
                    target = EmulatorTriggerClient.Create(apiUrl, parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable), ApiKeyVariable);
                }
                else
                {
                    string? accountError = null;
                    var options = LocalAccountOptions.Delivery(parse.GetValue(scale), parse.GetValue(virtualTime), parse.GetValue(timeout), out var timeError);
                    var folder = options is null ? null : LocalAccountOptions.Folder(parse.GetValue(account), out accountError);
                    if (folder is null || options is null)
                    {
                        await error.WriteLineAsync(CommandLineErrors.Line(timeError ?? accountError));
                        return ExitCodes.BadInput;
                    }
                    target = new LocalTriggerTarget(folder, options with { OnError = message => error.WriteLine("warning: " + message) });
                }
            }
            catch (TriggerException ex)
            {
                await error.WriteLineAsync(CommandLineErrors.Line(ex.Message));
                return ex.ExitCode;
            }
            using (target)
            {
                try
                {
                    return lifecycle is null
                        ? await EventAsync(target, name!, overrides, parse.GetValue(follow), output, error, ct)
                        : await ScenarioAsync(target, lifecycle, overrides, parse.GetValue(follow), output, error, ct);
                }
                catch (TriggerException ex)
                {
                    await error.WriteLineAsync(CommandLineErrors.Line(ex.Message));
                    return ex.ExitCode;
                }
            }
        }));
        return command;
    }

    private static async Task ListAsync(TextWriter output)
    {
        var width = ScenarioCatalog.All.Max(s => s.Name.Length);
        foreach (var s in ScenarioCatalog.All)
        {
            await output.WriteLineAsync($"{s.Name.PadRight(width)}  {string.Join(" -> ", s.Steps.Select(step => step.Label))}");
        }
    }

    private static async Task<int> EventAsync(ITriggerTarget target, string name, List<PayloadOverride> overrides, bool follow,
        TextWriter output, TextWriter error, CancellationToken ct)
    {
        var result = await target.TriggerAsync(name, overrides, ct);
        if (result.Webhooks.Count == 0)
        {
            await error.WriteLineAsync(NoWebhook(result.Type));
            return ExitCodes.Failed;
        }
        await PrintAsync("", result, output);
        return follow ? await FollowAsync(target, [result.EventId], output, ct) : ExitCodes.Ok;
    }

    /// <summary>Each step in order, attempt 1 of one answered before the next is made; a step no webhook takes is said and skipped.</summary>
    private static async Task<int> ScenarioAsync(ITriggerTarget target, LifecycleScenario scenario, List<PayloadOverride> overrides, bool follow,
        TextWriter output, TextWriter error, CancellationToken ct)
    {
        var requests = ScenarioTrigger.Requests(scenario, overrides, DateTimeOffset.UtcNow);
        await output.WriteLineAsync($"scenario {scenario.Name}: {requests.Count} event(s) on {requests[0].Event.Data["id"]}");
        var sent = new List<string>();
        foreach (var request in requests)
        {
            var result = await target.TriggerAsync(request.Event.EventType, request.Overrides, ct);
            var step = $"step {request.Event.Step}/{scenario.Steps.Count}  ";
            if (result.Webhooks.Count == 0)
            {
                await output.WriteLineAsync($"{step}{result.Type}: no webhook of the account is subscribed to it, nothing delivered");
                continue;
            }
            await PrintAsync(step, result, output);
            sent.Add(result.EventId);
        }
        if (sent.Count == 0)
        {
            await error.WriteLineAsync(NoWebhook(string.Join(", ", scenario.Events.Distinct())));
            return ExitCodes.Failed;
        }
        return follow ? await FollowAsync(target, sent, output, ct) : ExitCodes.Ok;
    }

    private static string NoWebhook(string types) => CommandLineErrors.Line($"no webhook of the account is subscribed to {types}: nothing delivered");

    private static async Task PrintAsync(string prefix, FanOutJson result, TextWriter output)
    {
        await output.WriteLineAsync($"{prefix}{result.EventId} {result.Type} -> {result.Webhooks.Count} webhook(s)");
        foreach (var line in result.Lines())
        {
            await output.WriteLineAsync("  " + line);
        }
    }

    private static async Task<int> FollowAsync(ITriggerTarget target, IReadOnlyList<string> eventIds, TextWriter output, CancellationToken ct)
    {
        var exit = ExitCodes.Ok;
        foreach (var eventId in eventIds)
        {
            var state = await target.FollowAsync(eventId, output, ct);
            if (state.Pending > 0)
            {
                await output.WriteLineAsync($"stopped with {state.Pending} deliveries of {state.EventId} pending; a deliverer resumes them");
                return ExitCodes.Failed;
            }
            foreach (var d in state.Deliveries)
            {
                await output.WriteLineAsync($"  {d.WebhookId}  {d.Status.Name()} after {d.Attempts} attempt(s){(d.EndReason is null ? "" : ": " + d.EndReason)}");
            }
            if (!state.Deliveries.All(d => d.Status == DeliveryStatus.Delivered))
            {
                exit = ExitCodes.Failed;
            }
        }
        return exit;
    }
}
