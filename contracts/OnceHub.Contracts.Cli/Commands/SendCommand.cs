using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary><c>send</c>: one signed delivery of an event, with what the receiver answered.</summary>
internal static class SendCommand
{
    public static Command Create()
    {
        var eventName = new Argument<EventType>("EVENT")
        {
            Description = "a specific event, e.g. booking.scheduled",
            CustomParser = r => CommonOptions.Parse(r, "send", static v => Parsing.Event("send", v)),
        };
        var target = CommonOptions.Target(required: true);
        var secret = CommonOptions.Secret();
        var timeout = CommonOptions.Timeout();
        var file = new Option<byte[]?>("--file")
        {
            Description = "send this payload instead of EVENT's documented sample",
            HelpName = "PAYLOAD",
            CustomParser = r => CommonOptions.Parse<byte[]?>(r, "--file", static v => Parsing.ReadFile("--file", v)),
        };
        var sameId = new Option<bool>("--same-id")
        {
            Description = "keep the payload's own event id and creation_time (and exact bytes), e.g. to resend on purpose; "
                + "by default each send gets a fresh id and creation_time, since a receiver acknowledges a repeated id without processing it",
        };
        var verbose = new Option<bool>("--verbose", "-v")
        {
            Description = "print the request (method, URL, headers with the signature's s= redacted, body size) and its answer",
        };
        var command = new Command("send", "Deliver one event, signed now, with OnceHub's headers; print the answer's status, time and first bytes. "
            + "Exit 0 on a 2xx, 1 otherwise.")
        {
            eventName, target, secret, timeout, file, sameId, verbose,
        };
        command.SetAction(async (parsed, ct) =>
        {
            var key = CommonOptions.SecretValue(parsed, secret)
                ?? throw new UsageException($"send: --secret (or {CliApp.SecretVariable}) is required");
            var type = parsed.GetValue(eventName)!;
            var url = parsed.GetValue(target)!;
            // An option not given reads as an empty array, so ask whether it was given.
            var payload = parsed.GetResult(file) is null ? ContractResources.ReadSample(type.Name) : parsed.GetValue(file)!;
            if (!parsed.GetValue(sameId))
            {
                payload = Fresh(payload);
            }
            var error = parsed.InvocationConfiguration.Error;
            using var engine = new DeliveryEngine(new DeliveryOptions
            {
                AttemptTimeout = CommonOptions.TimeoutValue(parsed, timeout),
                Trace = parsed.GetValue(verbose) ? text => error.WriteLine($"[{type.Name}]\n{text}") : null,
            });
            var result = await engine.SendAsync(url, payload, new WebhookSigner(key), ct);
            await parsed.InvocationConfiguration.Output.WriteLineAsync(
                $"{type.Name} {EventId(payload)} -> {ContractSuite.DisplayTarget(url)}: {result.Evidence()}");
            return result.IsAccepted ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }

    /// <summary>The payload with a new event id and the current time as its creation_time.</summary>
    internal static byte[] Fresh(byte[] payload)
    {
        JsonObject node;
        try
        {
            node = JsonNode.Parse(payload) as JsonObject ?? throw new UsageException("send: the payload is not a JSON object");
        }
        catch (JsonException ex)
        {
            throw new UsageException($"send: the payload is not JSON ({CommandLineErrors.FirstLine(ex.Message)}); use --same-id to send its bytes as they are");
        }
        node["id"] = ContractSuite.NewEventId();
        node["creation_time"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        return Encoding.UTF8.GetBytes(node.ToJsonString());
    }

    private static string EventId(byte[] payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                ? Parsing.Printable(id.GetString()!)
                : "(no id)";
        }
        catch (JsonException)
        {
            return "(not JSON)";
        }
    }
}
