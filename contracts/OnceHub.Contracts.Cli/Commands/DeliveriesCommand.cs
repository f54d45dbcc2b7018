using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Contracts.CommandLine;
using OnceHub.LocalDelivery;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary><c>deliveries</c>: the local account's delivery log, one row per attempt, and what is still pending.</summary>
internal static class DeliveriesCommand
{
    public static Command Create()
    {
        var account = LocalAccountOptions.Account();
        var eventId = new Option<string?>("--event") { Description = "only this event id (EVNT-...)" };
        var webhookId = new Option<string?>("--webhook") { Description = "only this webhook id (WHK-...)" };
        var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
        var command = new Command("deliveries", "Show the local account's delivery log: one row per attempt, then the deliveries still pending")
        {
            account, eventId, webhookId, json,
        };
        command.SetAction((parse, _) => LocalAccountOptions.GuardAsync(parse, async (output, error) =>
        {
            var folder = LocalAccountOptions.Folder(parse.GetValue(account), out var problem);
            if (folder is null)
            {
                await error.WriteLineAsync(CommandLineErrors.Line(problem));
                return ExitCodes.BadInput;
            }
            if (!File.Exists(Path.Combine(folder, DeliveryStore.FileName)))
            {
                await error.WriteLineAsync(CommandLineErrors.Line($"no deliveries yet in the account '{folder}' (run 'trigger EVENT' first)"));
                return ExitCodes.Failed;
            }
            using var store = new DeliveryStore(folder);
            var rows = store.Log(parse.GetValue(eventId), parse.GetValue(webhookId));
            var pending = store.Deliveries(parse.GetValue(eventId), parse.GetValue(webhookId)).Where(d => d.Status == DeliveryStatus.Pending).ToList();
            if (parse.GetValue(json))
            {
                await output.WriteLineAsync(ToJson(rows, pending));
                return ExitCodes.Ok;
            }
            await WriteTableAsync(output, rows, pending);
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static async Task WriteTableAsync(TextWriter output, IReadOnlyList<DeliveryLogRow> rows, IReadOnlyList<DeliveryState> pending)
    {
        string[] header = ["EVENT", "TYPE", "WEBHOOK", "ATTEMPT", "OFFSET", "SENT AT", "STATUS", "LATENCY", "ERROR", "ANSWER"];
        var table = rows.Select(r => new[]
        {
            r.EventId, r.EventType, r.WebhookId,
            r.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "-",
            r.ScheduledOffset is { } o ? "+" + LocalAccountOptions.Offset(o) : "-",
            LocalAccountOptions.Time(r.SentAt),
            r.HttpStatus is { } s ? $"{s} {r.Outcome}" : r.Outcome,
            r.Latency is { } l ? l.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture) + " ms" : "-",
            r.Error ?? "",
            Printable(r.Answer),
        }).ToList();
        if (table.Count == 0)
        {
            await output.WriteLineAsync("no attempts logged");
        }
        else
        {
            var widths = header.Select((h, i) => Math.Max(h.Length, table.Max(row => row[i].Length))).ToArray();
            await output.WriteLineAsync(Row(header, widths));
            foreach (var row in table)
            {
                await output.WriteLineAsync(Row(row, widths));
            }
        }
        foreach (var d in pending)
        {
            await output.WriteLineAsync($"pending: {d.EventId} -> {d.WebhookId}: attempt {d.NextAttempt} due {LocalAccountOptions.Time(d.NextDue)}");
        }
    }

    private static string Row(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();

    private static string Printable(string? text) =>
        text is null ? "" : new string([.. text.Take(40).Select(c => char.IsControl(c) ? ' ' : c)]);

    private static string ToJson(IReadOnlyList<DeliveryLogRow> rows, IReadOnlyList<DeliveryState> pending)
    {
        var attempts = new JsonArray();
        foreach (var r in rows)
        {
            attempts.Add(new JsonObject
            {
                ["delivery"] = r.DeliveryId,
                ["event_id"] = r.EventId,
                ["type"] = r.EventType,
                ["webhook_id"] = r.WebhookId,
                ["attempt"] = r.Attempt,
                ["scheduled_offset_seconds"] = r.ScheduledOffset?.TotalSeconds,
                ["sent_at"] = r.SentAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["status"] = r.Outcome,
                ["http_status"] = r.HttpStatus,
                ["latency_ms"] = r.Latency is { } l ? Math.Round(l.TotalMilliseconds, 1) : null,
                ["error"] = r.Error,
                ["answer"] = r.Answer,
            });
        }
        var waiting = new JsonArray();
        foreach (var d in pending)
        {
            waiting.Add(new JsonObject
            {
                ["delivery"] = d.Id,
                ["event_id"] = d.EventId,
                ["type"] = d.EventType,
                ["webhook_id"] = d.WebhookId,
                ["next_attempt"] = d.NextAttempt,
                ["due_at"] = d.NextDue.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            });
        }
        return new JsonObject { ["attempts"] = attempts, ["pending"] = waiting }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
