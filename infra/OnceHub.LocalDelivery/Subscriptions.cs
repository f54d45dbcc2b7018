using OnceHub.Account;
using OnceHub.Events;

namespace OnceHub.LocalDelivery;

/// <summary>The webhooks subscribed to each event type (composites expanded), for one list of the account's webhooks.</summary>
internal sealed class Subscriptions(IReadOnlyList<StoredWebhook> webhooks)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<StoredWebhook>> _byEvent = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="current"/> holds the same webhooks (the account hands out one object per unchanged webhook).</summary>
    public bool Describes(IReadOnlyList<StoredWebhook> current)
    {
        if (current.Count != webhooks.Count)
        {
            return false;
        }
        for (var i = 0; i < current.Count; i++)
        {
            if (!ReferenceEquals(current[i], webhooks[i]))
            {
                return false;
            }
        }
        return true;
    }

    public IReadOnlyList<StoredWebhook> To(string eventName) =>
        _byEvent.GetOrAdd(eventName, name => [.. webhooks.Where(w => EventCatalog.Expand(w.Events).Any(e => e.Name == name))]);
}
