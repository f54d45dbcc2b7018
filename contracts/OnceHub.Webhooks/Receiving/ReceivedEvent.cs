using System.Text.Json;
using OnceHub.Events;

namespace OnceHub.Webhooks;

/// <summary>An event handed to the handler: its id, type and the whole payload.</summary>
public sealed record ReceivedEvent(string Id, string Type, JsonElement Payload)
{
    /// <summary>The family of <see cref="Type"/> (booking, conversation), or null for a type the catalog does not know.</summary>
    public EventFamily? Family => EventCatalog.TryGet(Type, out var known) ? known.Family : null;

    /// <summary>The booking or conversation this event is about and its <c>last_updated_time</c>; null for an event without them.</summary>
    public ObjectUpdate? Update => ObjectUpdate.Read(Type, Payload);

    /// <summary>
    /// True when an event about the same object with a later <c>last_updated_time</c> was processed already:
    /// this delivery is late (OnceHub retries failed deliveries for days), and applying it would bring back an
    /// older state. An equal time is not stale. Applications that only keep the newest state can skip it, or let
    /// the receiver skip such events (<see cref="WebhookPipelineOptions.SkipStaleEvents"/>).
    /// </summary>
    public bool IsStale { get; init; }

    /// <summary>The payload as typed records (generated from the schemas); fields they do not name are kept as JSON.</summary>
    public Events.OnceHubEvent ReadEvent() => Events.OnceHubEvent.From(Payload);
}
