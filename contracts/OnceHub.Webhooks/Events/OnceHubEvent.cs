using System.Text.Json;

namespace OnceHub.Webhooks.Events;

public sealed partial record OnceHubEvent
{
    /// <summary>Reads a delivery's body (UTF-8 JSON) with the source-generated metadata: no reflection, trimming safe.</summary>
    /// <exception cref="JsonException">The body is not JSON of the envelope's shape.</exception>
    public static OnceHubEvent Parse(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, OnceHubJsonContext.Default.OnceHubEvent) ?? throw new JsonException("the body is JSON null, not an event");

    /// <summary>Reads an event from an already parsed payload (e.g. <see cref="ReceivedEvent.Payload"/>).</summary>
    public static OnceHubEvent From(JsonElement payload) =>
        payload.Deserialize(OnceHubJsonContext.Default.OnceHubEvent) ?? throw new JsonException("the payload is JSON null, not an event");

    /// <summary>The family named by the type's prefix (<c>booking.</c>, <c>conversation.</c>), also for a type added later.</summary>
    public string? Family => Type is { } type && type.IndexOf('.', StringComparison.Ordinal) is > 0 and var dot ? type[..dot] : null;

    /// <summary>The data as a booking, for <c>booking.*</c> events; null for other families.</summary>
    public BookingData? Booking => Family == "booking" && Data is { ValueKind: JsonValueKind.Object } data
        ? data.Deserialize(OnceHubJsonContext.Default.BookingData) : null;

    /// <summary>The data as a conversation, for <c>conversation.*</c> events; null for other families.</summary>
    public ConversationData? Conversation => Family == "conversation" && Data is { ValueKind: JsonValueKind.Object } data
        ? data.Deserialize(OnceHubJsonContext.Default.ConversationData) : null;
}
