using System.CommandLine;
using System.Net.Http.Json;
using OnceHub.Account;
using OnceHub.Contracts.CommandLine;
using OnceHub.Events;
using OnceHub.LocalDelivery;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary>
/// <c>trigger EVENT</c>: a fresh event from the event's sample, fanned out to every webhook of the local account
/// subscribed to it, attempt 1 sent here; retries are sent by whichever process delivers for the account
/// (<c>--follow</c>, or the emulator started with <c>--deliver</c>).
/// </summary>
internal static class TriggerCommand
{
    public const string ApiKeyVariable = ApiAuthentication.KeyVariable;

    public static Command Create()
    {
        var eventName = new Argument<string>("EVENT")
        {
            Description = "the event type, e.g. booking.scheduled (" + string.Join(", ", EventCatalog.Specific.Select(e => e.Name)) + ")",
        };
        var account = LocalAccountOptions.Account();
        var api = new Option<string?>("--api") { Description = "a running emulator's API base URL instead of --account; it signs and delivers" };
        var apiKey = new Option<string?>("--api-key") { Description = $"the emulator's API key (or {ApiKeyVariable})" };
        var set = new Option<string[]>("--set")
        {
            Description = "PATH=VALUE into the payload (e.g. data.subject=Demo); VALUE is JSON when it parses, else a string; repeatable",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var follow = new Option<bool>("--follow") { Description = "stay and send the retries until every delivery of the event has ended" };
        var scale = LocalAccountOptions.TimeScale();
        var virtualTime = LocalAccountOptions.VirtualTime();
        var timeout = LocalAccountOptions.AttemptTimeout();
        var command = new Command("trigger", "Deliver a fresh event of a type to every webhook of the local account subscribed to it")
        {
            eventName, account, api, apiKey, set, follow, scale, virtualTime, timeout,
        };
        command.SetAction((parse, ct) => LocalAccountOptions.GuardAsync(parse, async (output, error) =>
        {
            var name = parse.GetValue(eventName)!;
            if (!EventCatalog.IsDeliverable(name))
            {
                await error.WriteLineAsync(CommandLineErrors.Line($"'{name}' is not an event type OnceHub delivers; expected one of "
                    + string.Join(", ", EventCatalog.Specific.Select(e => e.Name))));
                return CliApp.BadInput;
            }
            var overrides = new List<PayloadOverride>();
            foreach (var text in parse.GetValue(set) ?? [])
            {
                if (!PayloadOverride.TryParse(text, out var o, out var problem))
                {
                    await error.WriteLineAsync(CommandLineErrors.Line(problem));
                    return CliApp.BadInput;
                }
                overrides.Add(o!);
            }
            if (parse.GetValue(api) is { } apiUrl)
            {
                if (parse.GetResult(account) is { Implicit: false } || parse.GetValue(scale) is not null || parse.GetValue(virtualTime) || parse.GetValue(timeout) is not null)
                {
                    await error.WriteLineAsync(CommandLineErrors.Line("with --api the emulator delivers on its own clock: drop --account, --time-scale, --virtual-time and --attempt-timeout (start the emulator with them)"));
                    return CliApp.BadInput;
                }
                var key = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable);
                return await OverApiAsync(apiUrl, key, name, overrides, parse.GetValue(follow), output, error, ct);
            }
            string? accountError = null;
            var options = LocalAccountOptions.Delivery(parse.GetValue(scale), parse.GetValue(virtualTime), parse.GetValue(timeout), out var timeError);
            var folder = options is null ? null : LocalAccountOptions.Folder(parse.GetValue(account), out accountError);
            if (folder is null || options is null)
            {
                await error.WriteLineAsync(CommandLineErrors.Line(timeError ?? accountError));
                return CliApp.BadInput;
            }
            using var deliverer = LocalDeliverer.OpenFolder(folder, options with { OnError = message => error.WriteLine("warning: " + message) });
            var result = FanOutJson.From(await deliverer.TriggerAsync(name, overrides, ct));
            if (!await PrintAsync(result, output, error))
            {
                return CliApp.Failed;
            }
            if (!parse.GetValue(follow))
            {
                return CliApp.Ok;
            }
            var pending = deliverer.Store.PendingCount(result.EventId);
            if (pending > 0)
            {
                await output.WriteLineAsync($"following {result.EventId}: {pending} deliveries pending ({deliverer.Options.Time}); Ctrl+C leaves them pending");
            }
            await deliverer.RunAsync(result.EventId, ct);
            return await SummaryAsync(EventStateJson.From(result.EventId, deliverer.Store.Deliveries(result.EventId)), output);
        }));
        return command;
    }

    private static async Task<bool> PrintAsync(FanOutJson result, TextWriter output, TextWriter error)
    {
        if (result.Webhooks.Count == 0)
        {
            await error.WriteLineAsync(CommandLineErrors.Line($"no webhook of the account is subscribed to {result.Type}: nothing delivered"));
            return false;
        }
        await output.WriteLineAsync($"{result.EventId} {result.Type} -> {result.Webhooks.Count} webhook(s)");
        foreach (var line in result.Lines())
        {
            await output.WriteLineAsync("  " + line);
        }
        return true;
    }

    private static async Task<int> SummaryAsync(EventStateJson state, TextWriter output)
    {
        if (state.Pending > 0)
        {
            await output.WriteLineAsync($"stopped with {state.Pending} deliveries of {state.EventId} pending; a deliverer resumes them");
            return CliApp.Failed;
        }
        foreach (var d in state.Deliveries)
        {
            await output.WriteLineAsync($"  {d.WebhookId}  {d.Status.Name()} after {d.Attempts} attempt(s){(d.EndReason is null ? "" : ": " + d.EndReason)}");
        }
        return state.Deliveries.All(d => d.Status == DeliveryStatus.Delivered) ? CliApp.Ok : CliApp.Failed;
    }

    private static async Task<int> OverApiAsync(string apiUrl, string? key, string name, List<PayloadOverride> overrides, bool follow,
        TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (!Uri.TryCreate(apiUrl, UriKind.Absolute, out var api) || api.Scheme is not ("http" or "https"))
        {
            await error.WriteLineAsync(CommandLineErrors.Line($"--api must be an http(s) URL (got '{apiUrl}')"));
            return CliApp.BadInput;
        }
        if (string.IsNullOrEmpty(key))
        {
            await error.WriteLineAsync(CommandLineErrors.Line($"--api needs the emulator's API key: --api-key K or {ApiKeyVariable}"));
            return CliApp.BadInput;
        }
        // The local-delivery routes sit beside the API, outside /v2: the API returns no secrets on reads.
        var root = new Uri(api.GetLeftPart(UriPartial.Authority));
        using var http = new HttpClient { BaseAddress = root, Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Add(ApiAuthentication.HeaderName, key);
        FanOutJson? result;
        try
        {
            using var response = await http.PostAsJsonAsync(LocalDeliveryRoutes.Events,
                new TriggerRequestJson { Event = name, Set = [.. overrides.Select(o => $"{o.Path}={o.Value}")] },
                LocalDeliveryJsonContext.Default.TriggerRequestJson, ct);
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                await error.WriteLineAsync(CommandLineErrors.Line($"the emulator answered {(int)response.StatusCode}: {CommandLineErrors.FirstLine(text)}"));
                return (int)response.StatusCode is 400 ? CliApp.BadInput : CliApp.Failed;
            }
            result = await response.Content.ReadFromJsonAsync(LocalDeliveryJsonContext.Default.FanOutJson, ct);
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            await error.WriteLineAsync(CommandLineErrors.Line($"no usable answer from the emulator at {root}: {ex.Message}"));
            return CliApp.Failed;
        }
        if (result is null || !await PrintAsync(result, output, error))
        {
            return CliApp.Failed;
        }
        if (!follow)
        {
            return CliApp.Ok;
        }
        // The emulator sends the retries (started with --deliver); follow its view of the event.
        while (true)
        {
            var state = await http.GetFromJsonAsync(LocalDeliveryRoutes.Events + "/" + Uri.EscapeDataString(result.EventId),
                LocalDeliveryJsonContext.Default.EventStateJson, ct);
            if (state is null || state.Pending == 0 || ct.IsCancellationRequested)
            {
                return state is null ? CliApp.Failed : await SummaryAsync(state, output);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        }
    }
}
