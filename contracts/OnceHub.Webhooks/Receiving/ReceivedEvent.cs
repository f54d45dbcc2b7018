using System.Text.Json;
using OnceHub.Events;

namespace OnceHub.Webhooks;

/// <summary>An event handed to the handler: its id, type and the whole payload.</summary>
public sealed record ReceivedEvent(string Id, string Type, JsonElement Payload)
{
    /// <summary>The family of <see cref="Type"/> (booking, conversation), or null for a type the catalog does not know.</summary>
    public EventFamily? Family => EventCatalog.TryGet(Type, out var known) ? known.Family : null;

    /// <summary>The payload as typed records (generated from the schemas); fields they do not name are kept as JSON.</summary>
    public Events.OnceHubEvent ReadEvent() => Events.OnceHubEvent.From(Payload);
}
