using System.Globalization;
using System.Text.Json;
using OnceHub.Events;

namespace OnceHub.Webhooks;

/// <summary>
/// The object an event is about (a booking or a conversation, by its <c>data.id</c>) and the
/// <c>data.last_updated_time</c> the event carries: what tells a late delivery from a current one.
/// </summary>
/// <param name="ObjectId">The object's id (<c>BKNG-…</c>, <c>CVR-…</c>).</param>
/// <param name="LastUpdatedTime">When OnceHub last changed the object, as of this event.</param>
public sealed record ObjectUpdate(string ObjectId, DateTimeOffset LastUpdatedTime)
{
    /// <summary>Longest object id kept; OnceHub's ids are far shorter, and a longer one is not worth remembering.</summary>
    public const int MaxObjectIdLength = 200;

    /// <summary>
    /// Reads the update of a booking or conversation event; null for other families, or when the data has no
    /// string id or no date-time <c>last_updated_time</c>.
    /// </summary>
    public static ObjectUpdate? Read(string eventType, JsonElement payload)
    {
        if (!EventCatalog.TryGet(eventType, out var known) || known.Family is not (EventFamily.Booking or EventFamily.Conversation))
        {
            return null;
        }
        if (payload.ValueKind != JsonValueKind.Object
            || !payload.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
            || !data.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String
            || !data.TryGetProperty("last_updated_time", out var updated) || updated.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        var objectId = id.GetString();
        if (string.IsNullOrEmpty(objectId) || objectId.Length > MaxObjectIdLength
            || !DateTimeOffset.TryParse(updated.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return null;
        }
        return new ObjectUpdate(objectId, time);
    }
}
