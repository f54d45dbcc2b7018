using System.Text;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;

namespace OnceHub.Webhooks.Tests;

/// <summary>
/// One booking's life as signed deliveries: each step is built from the sample of its event type, with the same
/// booking id, the step's status and a <c>last_updated_time</c> that rises step by step, under a fresh event id.
/// </summary>
internal static class BookingLifecycle
{
    public const string Secret = "lifecycle-secret";

    public static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    /// <summary>scheduled → rescheduled → canceled, an hour apart.</summary>
    public static readonly (string Type, string Status)[] Steps =
    [
        ("booking.scheduled", "scheduled"),
        ("booking.rescheduled", "rescheduled"),
        ("booking.canceled", "canceled"),
    ];

    public static byte[] Body(string bookingId, int step) => Body(bookingId, Steps[step].Type, Steps[step].Status, Start.AddHours(step));

    public static byte[] Body(string bookingId, string type, string status, DateTimeOffset lastUpdated)
    {
        var payload = JsonNode.Parse(ContractResources.ReadSample(type))!.AsObject();
        payload["id"] = $"EVNT-{Guid.NewGuid():N}";
        var data = payload["data"]!.AsObject();
        data["id"] = bookingId;
        data["status"] = status;
        data["last_updated_time"] = lastUpdated.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        return Encoding.UTF8.GetBytes(payload.ToJsonString());
    }

    public static WebhookPipeline Pipeline(IEventStore store, Func<ReceivedEvent, CancellationToken, Task> handler, bool skipStale = false) =>
        new(new WebhookPipelineOptions { Secrets = [Secret], Handler = handler, SkipStaleEvents = skipStale }, store);

    public static Task<ReceiveResult> DeliverAsync(WebhookPipeline pipeline, byte[] body) =>
        pipeline.ReceiveAsync(new WebhookSigner(Secret).CreateHeader(body), body);
}
