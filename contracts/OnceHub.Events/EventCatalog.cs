namespace OnceHub.Events;

/// <summary>The object a delivery's <c>data</c> carries: each event family has exactly one.</summary>
public enum EventFamily
{
    Booking,
    Conversation,
}

/// <summary>One specific event type, as it appears in a delivery's <c>type</c>.</summary>
/// <param name="Name">Wire name, e.g. <c>booking.scheduled</c>.</param>
/// <param name="Family">Family, which fixes the shape of <c>data</c>.</param>
/// <param name="Description">When OnceHub sends it.</param>
/// <param name="DataStatus">The <c>data.status</c> the event implies for the object it carries.</param>
public sealed record EventType(string Name, EventFamily Family, string Description, string DataStatus)
{
    /// <summary>
    /// False for an event only older OnceHub documents name: it is accepted, but OnceHub's current API reference
    /// does not list it, so a subscription to it may never fire.
    /// </summary>
    public bool InCurrentReference { get; init; } = true;
}

/// <summary>
/// OnceHub's webhook event catalog. Every rule about event names (API validation, provider checks,
/// schemas, samples) reads this list and nothing else.
/// </summary>
public static class EventCatalog
{
    /// <summary>The specific events, in catalog order.</summary>
    public static IReadOnlyList<EventType> Specific { get; } =
    [
        new("booking.scheduled", EventFamily.Booking,
            "A customer schedules a booking, or a user approves a requested booking.", "scheduled"),
        new("booking.rescheduled", EventFamily.Booking,
            "A booking moves to a new time with the same user.", "rescheduled"),
        new("booking.reassigned", EventFamily.Booking,
            "A booking moves from one user to another.", "scheduled"),
        new("booking.canceled_then_rescheduled", EventFamily.Booking,
            "A customer cancels a booking and reschedules on a different booking page or with another user.", "rescheduled"),
        new("booking.canceled_reschedule_requested", EventFamily.Booking,
            "A user cancels a booking and asks the customer to reschedule.", "canceled"),
        new("booking.canceled", EventFamily.Booking,
            "A user or customer cancels a booking.", "canceled"),
        new("booking.completed", EventFamily.Booking,
            "The booking's end time has passed.", "completed"),
        new("booking.no_show", EventFamily.Booking,
            "A user marks a completed booking as a no-show.", "no_show"),
        // Named in one of OnceHub's guides only; the API reference's webhooks do not list it.
        new("conversation.reached_out", EventFamily.Conversation,
            "A chatbot reaches out to a website visitor.", "started") { InCurrentReference = false },
        new("conversation.started", EventFamily.Conversation,
            "A website visitor starts interacting with a chatbot or live engagement.", "started"),
        new("conversation.closed", EventFamily.Conversation,
            "A visitor reaches the end of a conversation flow or starts one with another chatbot.", "closed"),
        new("conversation.abandoned", EventFamily.Conversation,
            "A visitor stops interacting with a bot for more than 10 minutes.", "abandoned"),
    ];

    /// <summary>Composite subscriptions: a composite name stands for every event of its family.</summary>
    public static IReadOnlyDictionary<string, EventFamily> Composites { get; } =
        new Dictionary<string, EventFamily>(StringComparer.Ordinal)
        {
            ["booking"] = EventFamily.Booking,
            ["conversation"] = EventFamily.Conversation,
        };

    private static readonly Dictionary<string, EventType> ByName =
        Specific.ToDictionary(e => e.Name, StringComparer.Ordinal);

    /// <summary>Every name a subscription may list: composites first, then specific events.</summary>
    public static IReadOnlyList<string> SubscribableNames { get; } =
        [.. Composites.Keys, .. Specific.Select(e => e.Name)];

    /// <summary>The wire name of a family's data object and of its composite subscription.</summary>
    public static string WireName(this EventFamily family) => family switch
    {
        EventFamily.Booking => "booking",
        EventFamily.Conversation => "conversation",
        _ => throw new ArgumentOutOfRangeException(nameof(family)),
    };

    /// <summary>True for a name a webhook subscription may list (case-sensitive, as OnceHub).</summary>
    public static bool IsSubscribable(string name) => Composites.ContainsKey(name) || ByName.ContainsKey(name);

    /// <summary>True for a name a delivery's <c>type</c> may carry: specific events only.</summary>
    public static bool IsDeliverable(string name) => ByName.ContainsKey(name);

    public static bool TryGet(string name, out EventType eventType) => ByName.TryGetValue(name, out eventType!);

    /// <summary>
    /// The specific events named in <paramref name="names"/> that OnceHub's current API reference does not list, each
    /// once; composites are not looked into (they stand for whatever their family holds on OnceHub).
    /// </summary>
    public static IReadOnlyList<EventType> NotInCurrentReference(IEnumerable<string> names) =>
        [.. names.Distinct(StringComparer.Ordinal).Select(n => ByName.GetValueOrDefault(n)).OfType<EventType>().Where(e => !e.InCurrentReference)];

    /// <summary>The same words for one such event on every surface that warns about it.</summary>
    public static string NotInCurrentReferenceNote(EventType eventType) =>
        $"'{eventType.Name}' is not listed in OnceHub's current API reference; it is accepted, but OnceHub may never send it";

    /// <summary>The specific events a subscription receives; composites expand to their family.</summary>
    public static IReadOnlyList<EventType> Expand(IEnumerable<string> subscribed)
    {
        var names = subscribed as ICollection<string> ?? [.. subscribed];
        return [.. Specific.Where(e => names.Contains(e.Name) || names.Contains(e.Family.WireName()))];
    }
}
