using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Scenarios;
using OnceHub.Events;

namespace OnceHub.Contracts.Suite;

/// <summary>An order in which retries deliver a scenario's events: a name for reports, why it happens, and the event types in delivery order.</summary>
public sealed record DeliveryOrder(string Name, string Why, IReadOnlyList<string> Events)
{
    /// <summary>The event types joined by arrows, for evidence.</summary>
    public string Sequence => string.Join(" → ", Events);
}

/// <summary>
/// What the <c>out-of-order</c> check delivers (<c>samples/checks/out-of-order.json</c>): a booking scenario of the
/// catalog, whose steps it plays, and the orders it delivers them in, each naming steps by the event they send.
/// </summary>
public sealed class OutOfOrderPlan
{
    private static readonly Lazy<OutOfOrderPlan> Shipped = new(() => Parse(ContractResources.ReadCheckFixture("out-of-order")));

    private OutOfOrderPlan(LifecycleScenario scenario, IReadOnlyList<DeliveryOrder> orders)
    {
        Scenario = scenario;
        Orders = orders;
    }

    /// <summary>The plan shipped in this assembly.</summary>
    public static OutOfOrderPlan Default => Shipped.Value;

    /// <summary>The booking's life, played afresh for every order.</summary>
    public LifecycleScenario Scenario { get; }

    /// <summary>The orders the scenario's events are delivered in.</summary>
    public IReadOnlyList<DeliveryOrder> Orders { get; }

    /// <summary>The events of <paramref name="order"/> in delivery order, from one fresh play of the scenario: a booking of its own.</summary>
    public IReadOnlyList<ScenarioEvent> Play(DeliveryOrder order, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(order);
        var played = Scenario.Play(now);
        return [.. order.Events.Select(type => played.Single(e => e.EventType == type))];
    }

    /// <summary>Reads a fixture against the scenario catalog; a broken one is refused with the field and the rule it breaks.</summary>
    public static OutOfOrderPlan Parse(byte[] fixture)
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
        var name = root["scenario"] is JsonValue s && s.TryGetValue(out string? text) ? text : throw Broken("scenario", "must name a scenario of samples/scenarios/");
        if (!ScenarioCatalog.TryFind(name, out var scenario))
        {
            throw Broken("scenario", $"'{name}' is not a scenario of samples/scenarios/");
        }
        if (scenario.Family != EventFamily.Booking)
        {
            throw Broken("scenario", $"'{name}' is not a booking scenario");
        }
        var sent = scenario.Events.ToList();
        if (sent.Count < 2)
        {
            throw Broken("scenario", $"'{name}' sends {sent.Count} event(s): a lifecycle delivered out of order has at least two");
        }

        var orders = new List<DeliveryOrder>();
        var orderNodes = root["orders"] as JsonArray ?? throw Broken("orders", "must be an array");
        for (var i = 0; i < orderNodes.Count; i++)
        {
            var where = $"orders[{i}]";
            var order = orderNodes[i] as JsonObject ?? throw Broken(where, "must be an object");
            var orderName = order["name"] is JsonValue n && n.TryGetValue(out string? label) && label.Length > 0
                ? label
                : throw Broken($"{where}.name", "must be a non-empty string");
            if (orders.Any(o => o.Name == orderName))
            {
                throw Broken($"{where}.name", $"'{orderName}' names another order already");
            }
            var why = order["why"] is JsonValue w && w.TryGetValue(out string? reason) ? reason : throw Broken($"{where}.why", "must say when retries produce the order");
            var names = order["steps"] as JsonArray ?? throw Broken($"{where}.steps", "must be an array of step types");
            var steps = names.Select((node, j) => StepOf(node, $"{where}.steps[{j}]", name, sent)).ToList();
            if (!steps.Zip(steps.Skip(1)).Any(pair => pair.Second < pair.First))
            {
                throw Broken($"{where}.steps", "must deliver a step after a later one: in order it is no out-of-order case");
            }
            orders.Add(new DeliveryOrder(orderName, why, [.. steps.Select(step => sent[step])]));
        }
        if (orders.Count == 0)
        {
            throw Broken("orders", "must list at least one order");
        }
        return new OutOfOrderPlan(scenario, orders);
    }

    /// <summary>The index among the scenario's events of the one step <paramref name="node"/> names by its event type.</summary>
    private static int StepOf(JsonNode? node, string where, string scenario, List<string> sent)
    {
        if (node is not JsonValue v || !v.TryGetValue(out string? type) || !EventCatalog.TryGet(type, out var known) || known.Family != EventFamily.Booking)
        {
            throw Broken(where, $"'{node?.ToJsonString()}' must be a booking event type of the catalog");
        }
        return sent.Count(e => e == type) switch
        {
            0 => throw Broken(where, $"'{type}' is not a step of scenario {scenario}"),
            1 => sent.IndexOf(type),
            _ => throw Broken(where, $"'{type}' is sent by more than one step of scenario {scenario}, so it names no one step"),
        };
    }

    private static InvalidDataException Broken(string field, string rule) => new($"out-of-order fixture: {field}: {rule}");
}
