using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Payloads;

/// <summary>One step of a booking's life: the event OnceHub sends and the booking's <c>data</c> as it stands after it.</summary>
public sealed record LifecycleStep(EventType Event, JsonObject Data)
{
    /// <summary>When the booking last changed at this step, as the payload says it.</summary>
    public DateTimeOffset LastUpdated { get; } = DateTimeOffset.Parse((string)Data["last_updated_time"]!, CultureInfo.InvariantCulture);
}

/// <summary>An order in which retries deliver the steps: a name for reports, why it happens, and the steps in delivery order.</summary>
public sealed record LifecycleOrder(string Name, string Why, IReadOnlyList<LifecycleStep> Steps)
{
    /// <summary>The steps' event types joined by arrows, for evidence.</summary>
    public string Sequence => string.Join(" → ", Steps.Select(s => s.Event.Name));
}

/// <summary>
/// One booking's lifecycle read from a fixture (<c>samples/lifecycles/booking.json</c>): ordered steps that each change
/// the booking as the step before left it, and the orders the <c>out-of-order</c> check delivers them in.
/// </summary>
public sealed class BookingLifecycle
{
    private const string BookingIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    private static readonly Lazy<BookingLifecycle> Shipped = new(() => Parse(ContractResources.ReadLifecycle("booking")));

    private readonly JsonObject _envelope;
    private readonly string _sampleBookingId;

    private BookingLifecycle(JsonObject envelope, string sampleBookingId, IReadOnlyList<LifecycleStep> steps, IReadOnlyList<LifecycleOrder> orders)
    {
        _envelope = envelope;
        _sampleBookingId = sampleBookingId;
        Steps = steps;
        Orders = orders;
    }

    /// <summary>The lifecycle shipped in this assembly.</summary>
    public static BookingLifecycle Default => Shipped.Value;

    /// <summary>The steps in the order they happen.</summary>
    public IReadOnlyList<LifecycleStep> Steps { get; }

    /// <summary>The orders the steps are delivered in.</summary>
    public IReadOnlyList<LifecycleOrder> Orders { get; }

    /// <summary>Reads a fixture; a broken one is refused with the field and the rule it breaks.</summary>
    public static BookingLifecycle Parse(byte[] fixture)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(fixture) as JsonObject ?? throw Broken("$", "must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw Broken("$", $"not JSON: {ex.Message}");
        }
        var sampleName = root["sample"] is JsonValue s && s.TryGetValue(out string? name) ? name : throw Broken("sample", "must name an event sample");
        if (!EventCatalog.TryGet(sampleName, out var sampleType) || sampleType.Family != EventFamily.Booking)
        {
            throw Broken("sample", $"'{sampleName}' is not a booking event of the catalog");
        }
        var envelope = JsonNode.Parse(ContractResources.ReadSample(sampleName))!.AsObject();
        var data = envelope["data"]!.AsObject();
        var sampleBookingId = (string)data["id"]!;

        var steps = new List<LifecycleStep>();
        var stepNodes = root["steps"] as JsonArray ?? throw Broken("steps", "must be an array");
        for (var i = 0; i < stepNodes.Count; i++)
        {
            var where = $"steps[{i}]";
            var step = stepNodes[i] as JsonObject ?? throw Broken(where, "must be an object");
            var type = TypeOf(step["type"], $"{where}.type");
            if (steps.Any(x => x.Event == type))
            {
                throw Broken($"{where}.type", $"'{type.Name}' is already a step: each event happens once in a lifecycle");
            }
            var changes = step["data"] as JsonObject ?? throw Broken($"{where}.data", "must be an object of the booking's changed fields");
            foreach (var (field, value) in changes)
            {
                data[field] = value?.DeepClone();
            }
            data["status"] = type.DataStatus;
            if (data["last_updated_time"] is not JsonValue updated || !updated.TryGetValue(out string? time)
                || !DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, out _))
            {
                throw Broken($"{where}.data.last_updated_time", "must be a date-time");
            }
            var next = new LifecycleStep(type, data.DeepClone().AsObject());
            if (steps.Count > 0 && next.LastUpdated <= steps[^1].LastUpdated)
            {
                throw Broken($"{where}.data.last_updated_time", "must be later than the step before's: a booking's last_updated_time rises with its life");
            }
            steps.Add(next);
        }
        if (steps.Count < 2)
        {
            throw Broken("steps", "a lifecycle has at least two steps");
        }

        var orders = new List<LifecycleOrder>();
        var orderNodes = root["orders"] as JsonArray ?? throw Broken("orders", "must be an array");
        for (var i = 0; i < orderNodes.Count; i++)
        {
            var where = $"orders[{i}]";
            var order = orderNodes[i] as JsonObject ?? throw Broken(where, "must be an object");
            var orderName = order["name"] is JsonValue n && n.TryGetValue(out string? text) && text.Length > 0
                ? text
                : throw Broken($"{where}.name", "must be a non-empty string");
            if (orders.Any(o => o.Name == orderName))
            {
                throw Broken($"{where}.name", $"'{orderName}' names another order already");
            }
            var why = order["why"] is JsonValue w && w.TryGetValue(out string? reason) ? reason : throw Broken($"{where}.why", "must say when retries produce the order");
            var names = order["steps"] as JsonArray ?? throw Broken($"{where}.steps", "must be an array of step types");
            var sequence = names.Select((node, j) =>
            {
                var type = TypeOf(node, $"{where}.steps[{j}]");
                return steps.FirstOrDefault(x => x.Event == type) ?? throw Broken($"{where}.steps[{j}]", $"'{type.Name}' is not a step of the lifecycle");
            }).ToList();
            if (!sequence.Zip(sequence.Skip(1)).Any(pair => pair.Second.LastUpdated < pair.First.LastUpdated))
            {
                throw Broken($"{where}.steps", "must deliver a step after a later one: in order it is no out-of-order case");
            }
            orders.Add(new LifecycleOrder(orderName, why, sequence));
        }
        if (orders.Count == 0)
        {
            throw Broken("orders", "must list at least one order");
        }
        envelope.Remove("data");
        return new BookingLifecycle(envelope, sampleBookingId, steps, orders);
    }

    /// <summary>A fresh booking id in OnceHub's shape, so every run's booking is one the receiver has not seen.</summary>
    public static string NewBookingId() => "BKNG-" + RandomNumberGenerator.GetString(BookingIdAlphabet, 12);

    /// <summary>The step's event for <paramref name="bookingId"/>, with a fresh event id.</summary>
    public byte[] Payload(LifecycleStep step, string bookingId)
    {
        ArgumentNullException.ThrowIfNull(step);
        ArgumentException.ThrowIfNullOrEmpty(bookingId);
        var envelope = _envelope.DeepClone().AsObject();
        var data = step.Data.DeepClone().AsObject();
        data["id"] = bookingId;
        if (data["cancel_reschedule_url"] is JsonValue url && url.TryGetValue(out string? link))
        {
            data["cancel_reschedule_url"] = link.Replace(_sampleBookingId, bookingId, StringComparison.Ordinal);
        }
        envelope["id"] = EventIds.NewId();
        envelope["type"] = step.Event.Name;
        envelope["creation_time"] = data["last_updated_time"]!.DeepClone();
        envelope["data"] = data;
        return Encoding.UTF8.GetBytes(envelope.ToJsonString());
    }

    private static EventType TypeOf(JsonNode? node, string where) =>
        node is JsonValue v && v.TryGetValue(out string? name) && EventCatalog.TryGet(name, out var type) && type.Family == EventFamily.Booking
            ? type
            : throw Broken(where, $"'{node?.ToJsonString()}' must be a booking event type of the catalog");

    private static InvalidDataException Broken(string field, string rule) => new($"lifecycle fixture: {field}: {rule}");
}
