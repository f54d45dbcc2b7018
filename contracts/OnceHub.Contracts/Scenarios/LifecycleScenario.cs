using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml;
using OnceHub.Contracts.Payloads;
using OnceHub.Events;

namespace OnceHub.Contracts.Scenarios;

/// <summary>
/// A booking's or conversation's life as ordered steps (<c>samples/scenarios/NAME.json</c>): the object starts as the
/// sample of the first step's event, with a fresh id, and each step changes it and sends an event, or sends nothing.
/// </summary>
public sealed partial record LifecycleScenario(string Name, string Description, EventFamily Family, IReadOnlyList<ScenarioStep> Steps)
{
    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /// <summary>Fields every step sets itself: a scenario file that sets them would break the object's identity or order.</summary>
    private static readonly string[] Kept = ["object", "id", "creation_time", "last_updated_time"];

    /// <summary>The event types the scenario sends, in order.</summary>
    public IEnumerable<string> Events => Steps.Where(s => s.Event is not null).Select(s => s.Event!);

    /// <summary>Reads a scenario file and plays it once, so a broken file fails here and names its rule.</summary>
    /// <exception cref="ScenarioException">The file breaks a rule.</exception>
    public static LifecycleScenario Parse(string name, ReadOnlySpan<byte> utf8Json)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(utf8Json) as JsonObject ?? throw new ScenarioException($"scenario {name}: the file must hold a JSON object");
        }
        catch (JsonException ex)
        {
            throw new ScenarioException($"scenario {name}: not valid JSON ({ex.Message})");
        }
        var description = root["description"] is JsonValue d && d.TryGetValue<string>(out var text) ? text
            : throw new ScenarioException($"scenario {name}: 'description' must be a string");
        if (root["steps"] is not JsonArray { Count: > 0 } items)
        {
            throw new ScenarioException($"scenario {name}: 'steps' must be a non-empty list");
        }
        var steps = new List<ScenarioStep>();
        EventFamily? family = null;
        foreach (var item in items)
        {
            var where = $"scenario {name}, step {steps.Count + 1}";
            if (item is not JsonObject step)
            {
                throw new ScenarioException($"{where}: a step must be an object with 'event', 'after' and 'data'");
            }
            string? eventName = null;
            if (step["event"] is JsonNode e)
            {
                if (e.GetValueKind() != JsonValueKind.String || !EventCatalog.TryGet(e.GetValue<string>(), out var type))
                {
                    throw new ScenarioException($"{where}: 'event' must be null or a specific event type of the catalog");
                }
                if (family is { } f && f != type.Family)
                {
                    throw new ScenarioException($"{where}: {type.Name} is not of the {f.WireName()} family of the steps before");
                }
                family = type.Family;
                eventName = type.Name;
            }
            var after = TimeSpan.Zero;
            if (step["after"] is JsonNode a)
            {
                try
                {
                    after = XmlConvert.ToTimeSpan(a.GetValue<string>());
                }
                catch (Exception ex) when (ex is FormatException or InvalidOperationException)
                {
                    throw new ScenarioException($"{where}: 'after' must be an ISO 8601 duration such as PT2H");
                }
            }
            // Times are written in whole seconds, so a shorter step would repeat the time before it.
            if (steps.Count > 0 && (after < TimeSpan.FromSeconds(1) || after.Ticks % TimeSpan.TicksPerSecond != 0))
            {
                throw new ScenarioException($"{where}: 'after' must be a positive duration of whole seconds, so that last_updated_time rises");
            }
            if (steps.Count == 0 && after != TimeSpan.Zero)
            {
                throw new ScenarioException($"{where}: the first step starts the scenario and takes no 'after'");
            }
            var changes = step["data"] switch
            {
                null => [],
                JsonObject o => (JsonObject)o.DeepClone(),
                _ => throw new ScenarioException($"{where}: 'data' must be an object of field names and values"),
            };
            if (Kept.FirstOrDefault(changes.ContainsKey) is { } kept)
            {
                throw new ScenarioException($"{where}: 'data.{kept}' is set by every step itself");
            }
            if (eventName is not null && changes.ContainsKey("status"))
            {
                throw new ScenarioException($"{where}: 'data.status' of a step with an event is the catalog's status for {eventName}");
            }
            if (eventName is null && changes["status"] is null)
            {
                throw new ScenarioException($"{where}: a step without an event must name the status it leaves in 'data.status'");
            }
            steps.Add(new ScenarioStep(eventName, after, changes));
        }
        if (family is null)
        {
            throw new ScenarioException($"scenario {name}: no step sends an event");
        }
        var scenario = new LifecycleScenario(name, description, family.Value, steps);
        _ = scenario.Play(DateTimeOffset.UnixEpoch.AddYears(50));
        return scenario;
    }

    /// <summary>
    /// The events of one run, on one fresh object: its last step happens at <paramref name="now"/>, each earlier one
    /// its <see cref="ScenarioStep.After"/> before the next, so <c>last_updated_time</c> strictly rises.
    /// </summary>
    /// <exception cref="ScenarioException">A step names a field the object does not have, or a reference does not resolve.</exception>
    public IReadOnlyList<ScenarioEvent> Play(DateTimeOffset now)
    {
        var start = now - Steps.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.After);
        var state = JsonNode.Parse(ContractResources.ReadSample(Events.First()))!["data"]!.AsObject();
        var id = state["id"]!.GetValue<string>();
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        state["id"] = id[..(dash + 1)] + RandomNumberGenerator.GetString(IdAlphabet, 12);
        if (state.ContainsKey("tracking_id"))
        {
            state["tracking_id"] = RandomNumberGenerator.GetString(IdAlphabet, 8);
        }
        state["creation_time"] = FormatTime(start);
        var time = start;
        var events = new List<ScenarioEvent>();
        for (var i = 0; i < Steps.Count; i++)
        {
            var step = Steps[i];
            var where = $"scenario {Name}, step {i + 1}";
            time += step.After;
            state["last_updated_time"] = FormatTime(time);
            if (step.Event is { } eventName && EventCatalog.TryGet(eventName, out var type))
            {
                state["status"] = type.DataStatus;
            }
            // References read the object as the step found it, so every change of a step sees the same values.
            var before = (JsonObject)state.DeepClone();
            foreach (var (field, value) in step.Changes)
            {
                if (!before.ContainsKey(field))
                {
                    throw new ScenarioException($"{where}: no field '{field}' in a {Family.WireName()}'s data");
                }
                state[field] = Resolve(value, before, where);
            }
            if (step.Event is not null)
            {
                events.Add(new ScenarioEvent(i + 1, step.Event, time, (JsonObject)state.DeepClone()));
            }
        }
        return events;
    }

    public static string FormatTime(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A value with its references replaced: <c>"${field}"</c> alone is that field's value (any JSON),
    /// <c>"${field}+P1D"</c> a date-time field moved by an ISO 8601 duration, and <c>${field}</c> inside other text
    /// that field's text.
    /// </summary>
    private static JsonNode? Resolve(JsonNode? value, JsonObject before, string where)
    {
        switch (value)
        {
            case JsonObject o:
                var copy = new JsonObject();
                foreach (var (key, inner) in o)
                {
                    copy[key] = Resolve(inner, before, where);
                }
                return copy;
            case JsonArray a:
                return new JsonArray([.. a.Select(inner => Resolve(inner, before, where))]);
            case JsonValue v when v.TryGetValue<string>(out var text) && text.Contains("${", StringComparison.Ordinal):
                if (Whole().Match(text) is { Success: true } whole)
                {
                    var referred = Field(before, whole.Groups[1].Value, where);
                    if (!whole.Groups[2].Success)
                    {
                        return referred?.DeepClone();
                    }
                    if (referred?.GetValueKind() != JsonValueKind.String
                        || !DateTimeOffset.TryParse(referred.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                    {
                        throw new ScenarioException($"{where}: '{text}' moves '{whole.Groups[1].Value}', which is not a date-time");
                    }
                    TimeSpan by;
                    try
                    {
                        by = XmlConvert.ToTimeSpan(whole.Groups[2].Value);
                    }
                    catch (FormatException)
                    {
                        throw new ScenarioException($"{where}: '{text}': '{whole.Groups[2].Value}' is not an ISO 8601 duration");
                    }
                    return FormatTime(at + by);
                }
                return Reference().Replace(text, m => Field(before, m.Groups[1].Value, where) is JsonValue s && s.TryGetValue<string>(out var part)
                    ? part
                    : throw new ScenarioException($"{where}: '{m.Value}' inside text must refer to a text field"));
            default:
                return value?.DeepClone();
        }
    }

    private static JsonNode? Field(JsonObject before, string field, string where) =>
        before.TryGetPropertyValue(field, out var node) ? node : throw new ScenarioException($"{where}: '${{{field}}}' refers to no field of the data");

    [GeneratedRegex(@"^\$\{([a-z_]+)\}(?:\+(P[0-9A-Z.]+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex Whole();

    [GeneratedRegex(@"\$\{([a-z_]+)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();
}
