using OnceHub.Events;

namespace OnceHub.Webhooks;

/// <summary>
/// The handlers of one endpoint: per event type (<c>booking.scheduled</c>), per family (every booking event)
/// and a fallback. The most specific one handles an event, and only that one: a type's handler before its
/// family's, a family's before the fallback. An event with no handler is acknowledged and recorded as processed.
/// A handler that throws gets the delivery answered 500 (OnceHub retries); keep handlers quick and idempotent.
/// </summary>
public sealed class OnceHubWebhookHandlers
{
    private readonly Dictionary<string, Func<ReceivedEvent, CancellationToken, Task>> _byType = new(StringComparer.Ordinal);
    private readonly Dictionary<EventFamily, Func<ReceivedEvent, CancellationToken, Task>> _byFamily = [];
    private Func<ReceivedEvent, CancellationToken, Task>? _fallback;
    private readonly List<Action<ReceiveResult>> _observers = [];

    /// <summary>Handles one event type (e.g. <c>booking.scheduled</c>), or a family by its name (<c>booking</c>).</summary>
    public OnceHubWebhookHandlers On(string eventType, Func<ReceivedEvent, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        ArgumentNullException.ThrowIfNull(handler);
        if (EventCatalog.Composites.TryGetValue(eventType, out var family))
        {
            return OnFamily(family, handler);
        }
        if (!EventCatalog.IsDeliverable(eventType))
        {
            throw new ArgumentException(
                $"'{eventType}' is not an event type OnceHub delivers (one of {string.Join(", ", EventCatalog.SubscribableNames)})", nameof(eventType));
        }
        if (!_byType.TryAdd(eventType, handler))
        {
            throw new InvalidOperationException($"a handler for '{eventType}' is already registered");
        }
        return this;
    }

    /// <summary>Handles every event of a family that has no handler of its own type.</summary>
    public OnceHubWebhookHandlers OnFamily(EventFamily family, Func<ReceivedEvent, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (!Enum.IsDefined(family))
        {
            throw new ArgumentOutOfRangeException(nameof(family), family, "not an event family");
        }
        if (!_byFamily.TryAdd(family, handler))
        {
            throw new InvalidOperationException($"a handler for the {family.WireName()} family is already registered");
        }
        return this;
    }

    /// <summary>Handles every event that no type or family handler takes.</summary>
    public OnceHubWebhookHandlers OnAnyEvent(Func<ReceivedEvent, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (_fallback is not null)
        {
            throw new InvalidOperationException("a fallback handler is already registered");
        }
        _fallback = handler;
        return this;
    }

    /// <summary>Observes every answer the endpoint gives (metrics, tests); runs after the answer is decided.</summary>
    public OnceHubWebhookHandlers OnResult(Action<ReceiveResult> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        _observers.Add(observer);
        return this;
    }

    /// <summary>
    /// Verifies this endpoint's deliveries with these secrets instead of the configured ones: one path per
    /// webhook, each with its own signing secret (several during a rollover).
    /// </summary>
    public OnceHubWebhookHandlers UseSecrets(IEnumerable<string> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        var list = secrets.ToList();
        if (list.Count == 0 || list.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("an endpoint's secrets must be at least one non-empty secret", nameof(secrets));
        }
        Secrets = list;
        return this;
    }

    /// <summary>The endpoint's own secrets (<see cref="UseSecrets"/>), or null for the configured ones.</summary>
    internal IReadOnlyList<string>? Secrets { get; private set; }

    internal IReadOnlyList<Action<ReceiveResult>> Observers => _observers;

    /// <summary>The single handler the pipeline calls; null when nothing is registered.</summary>
    internal Func<ReceivedEvent, CancellationToken, Task>? Build()
    {
        if (_byType.Count == 0 && _byFamily.Count == 0 && _fallback is null)
        {
            return null;
        }
        var byType = new Dictionary<string, Func<ReceivedEvent, CancellationToken, Task>>(_byType, StringComparer.Ordinal);
        var byFamily = new Dictionary<EventFamily, Func<ReceivedEvent, CancellationToken, Task>>(_byFamily);
        var fallback = _fallback;
        return (received, cancellationToken) =>
        {
            if (byType.TryGetValue(received.Type, out var exact))
            {
                return exact(received, cancellationToken);
            }
            if (received.Family is { } family && byFamily.TryGetValue(family, out var ofFamily))
            {
                return ofFamily(received, cancellationToken);
            }
            return fallback is null ? Task.CompletedTask : fallback(received, cancellationToken);
        };
    }
}
