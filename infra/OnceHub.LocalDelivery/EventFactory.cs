using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery;

/// <summary>
/// One <c>--set PATH=VALUE</c> override: a path into the payload (<c>data.subject</c>,
/// <c>data.form_submission.custom_fields[0].value</c>, an optional leading <c>$.</c>) and a value taken as
/// JSON when it parses as JSON (<c>42</c>, <c>true</c>, <c>null</c>, <c>{"a":1}</c>), else as a string.
/// </summary>
public sealed record PayloadOverride(string Path, string Value)
{
    /// <summary>Parses <c>PATH=VALUE</c>; the error names the rule.</summary>
    public static bool TryParse(string text, out PayloadOverride? result, out string? error)
    {
        result = null;
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            error = $"--set '{text}': expected PATH=VALUE, e.g. data.subject=\"Quarterly review\"";
            return false;
        }
        result = new PayloadOverride(text[..eq].Trim(), text[(eq + 1)..]);
        error = null;
        return true;
    }
}

/// <summary>A payload override that cannot be applied; the message names the path and why.</summary>
public sealed class PayloadOverrideException(string message) : Exception(message);

/// <summary>
/// Builds a fresh event from an event type's documented sample: a new <c>EVNT-</c> id, <c>creation_time</c>
/// now, fresh data ids (<c>data.id</c> keeps its prefix; a booking's <c>tracking_id</c> is renewed), then the
/// overrides in order.
/// </summary>
public static class EventFactory
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    // Each sample as compact JSON, read once: a trigger then parses compact text instead of reading the
    // embedded resource and parsing its indented form.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte[]> Templates = new(StringComparer.Ordinal);

    // The envelope keys the fan-out and the delivery log rely on: changing them would make a different event.
    private static readonly HashSet<string> Fixed = new(StringComparer.Ordinal) { "id", "type", "object" };

    /// <exception cref="ArgumentException">Not a specific event type of the catalog.</exception>
    /// <exception cref="PayloadOverrideException">An override's path does not exist in the payload.</exception>
    public static (string EventId, byte[] Body) Create(string eventName, IEnumerable<PayloadOverride> overrides, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        if (!EventCatalog.IsDeliverable(eventName))
        {
            throw new ArgumentException(
                $"'{eventName}' is not an event type OnceHub delivers; expected one of {string.Join(", ", EventCatalog.Specific.Select(e => e.Name))}",
                nameof(eventName));
        }
        var root = JsonNode.Parse(Templates.GetOrAdd(eventName, Compact))!.AsObject();
        var eventId = EventIds.NewId();
        root["id"] = eventId;
        root["creation_time"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        if (root["data"] is JsonObject data)
        {
            if (data["id"] is JsonValue id && id.TryGetValue<string>(out var oldId))
            {
                var dash = oldId.IndexOf('-', StringComparison.Ordinal);
                var prefix = dash >= 0 ? oldId[..(dash + 1)] : "";
                data["id"] = prefix + Random(Math.Max(8, oldId.Length - prefix.Length));
            }
            if (data["tracking_id"] is JsonValue)
            {
                data["tracking_id"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(4));
            }
        }
        foreach (var o in overrides)
        {
            Apply(root, o);
        }
        return (eventId, JsonSerializer.SerializeToUtf8Bytes(root));
    }

    private static byte[] Compact(string eventName) => JsonSerializer.SerializeToUtf8Bytes(JsonNode.Parse(ContractResources.ReadSample(eventName)));

    /// <summary>Sets one value; the path must exist (a typo is an error, not a new field).</summary>
    public static void Apply(JsonObject root, PayloadOverride change)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(change);
        var segments = ParsePath(change.Path);
        if (segments.Count == 1 && segments[0] is string top && Fixed.Contains(top))
        {
            throw new PayloadOverrideException(
                $"--set {change.Path}: the event's '{top}' is fixed (use 'resend EVENT_ID' to deliver an event id again)");
        }
        JsonNode parent = root;
        for (var i = 0; i < segments.Count; i++)
        {
            var isLast = i == segments.Count - 1;
            var walked = Describe(segments.Take(i + 1));
            switch (segments[i], parent)
            {
                case (string key, JsonObject obj):
                    if (!obj.ContainsKey(key))
                    {
                        throw new PayloadOverrideException(
                            $"--set {change.Path}: no field '{walked}' in the payload; fields here: {string.Join(", ", obj.Select(p => p.Key))}");
                    }
                    if (isLast)
                    {
                        obj[key] = ParseValue(change.Value);
                        return;
                    }
                    parent = obj[key] ?? throw new PayloadOverrideException($"--set {change.Path}: '{walked}' is null in the payload, nothing to set inside it");
                    break;
                case (int index, JsonArray array):
                    if (index >= array.Count)
                    {
                        throw new PayloadOverrideException($"--set {change.Path}: '{walked}' is out of range (the array has {array.Count} items)");
                    }
                    if (isLast)
                    {
                        array[index] = ParseValue(change.Value);
                        return;
                    }
                    parent = array[index] ?? throw new PayloadOverrideException($"--set {change.Path}: '{walked}' is null in the payload, nothing to set inside it");
                    break;
                default:
                    throw new PayloadOverrideException(
                        $"--set {change.Path}: '{walked}' does not exist: '{Describe(segments.Take(i))}' is {Kind(parent)}");
            }
        }
    }

    private static JsonNode? ParseValue(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    private static List<object> ParsePath(string path)
    {
        var text = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;
        var segments = new List<object>();
        foreach (var part in text.Split('.'))
        {
            var name = part;
            var bracket = name.IndexOf('[', StringComparison.Ordinal);
            var indexes = bracket >= 0 ? name[bracket..] : "";
            name = bracket >= 0 ? name[..bracket] : name;
            if (name.Length > 0)
            {
                segments.Add(name);
            }
            else if (indexes.Length == 0 || segments.Count == 0)
            {
                throw new PayloadOverrideException($"--set {path}: empty name in the path (write it as data.field or data.list[0].field)");
            }
            while (indexes.Length > 0)
            {
                var close = indexes.IndexOf(']', StringComparison.Ordinal);
                if (indexes[0] != '[' || close < 0
                    || !int.TryParse(indexes[1..close], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    throw new PayloadOverrideException($"--set {path}: '{part}' is not a name followed by [index] (a non-negative integer)");
                }
                segments.Add(index);
                indexes = indexes[(close + 1)..];
            }
        }
        return segments;
    }

    private static string Describe(IEnumerable<object> segments) =>
        string.Concat(segments.Select((s, i) => s is int n ? $"[{n}]" : (i == 0 ? "" : ".") + s));

    private static string Kind(JsonNode node) => node switch
    {
        JsonObject => "an object",
        JsonArray => "an array",
        _ => "a " + node.GetValueKind().ToString().ToLowerInvariant() + " value",
    };

    private static string Random(int length) => new(RandomNumberGenerator.GetItems<char>(Alphabet, length));
}
