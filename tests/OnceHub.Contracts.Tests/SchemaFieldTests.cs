using System.Text;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Events;
using Xunit.Abstractions;

namespace OnceHub.Contracts.Tests;

/// <summary>
/// The schemas against OnceHub's reference, field by field: per object, the schema's property names must be
/// exactly the reference's (reference/oncehub-fields.json), and no sample or variant may carry a field the
/// reference does not document. The comparison prints a table per object.
/// </summary>
public class SchemaFieldTests(ITestOutputHelper output)
{
    /// <summary>Where each object's properties live in the schema files (file, JSON pointer to the object schema).</summary>
    private static readonly (string Object, string File, string Pointer)[] SchemaLocations =
    [
        ("event", "event.schema.json", ""),
        ("booking", "booking.schema.json", ""),
        ("booking.virtual_conferencing", "booking.schema.json", "/properties/virtual_conferencing"),
        ("booking.cancel_reschedule_information", "booking.schema.json", "/properties/cancel_reschedule_information"),
        ("booking.form_submission", "booking.schema.json", "/properties/form_submission"),
        ("booking.form_submission.custom_fields[]", "booking.schema.json", "/properties/form_submission/properties/custom_fields/items"),
        ("booking.external_calendar", "booking.schema.json", "/properties/external_calendar"),
        ("booking.payment_information", "booking.schema.json", "/properties/payment_information"),
        ("booking.custom_fields[]", "booking.schema.json", "/properties/custom_fields/items"),
        ("conversation", "conversation.schema.json", ""),
        ("conversation.answers[]", "conversation.schema.json", "/properties/answers/items"),
        ("user", "objects.schema.json", "/definitions/user"),
        ("contact", "objects.schema.json", "/definitions/contact"),
        ("contact.custom_fields[]", "objects.schema.json", "/definitions/contact/properties/custom_fields/items"),
        ("booking_page", "objects.schema.json", "/definitions/bookingPage"),
        ("master_page", "objects.schema.json", "/definitions/masterPage"),
        ("event_type", "objects.schema.json", "/definitions/eventType"),
        ("bot", "objects.schema.json", "/definitions/bot"),
        ("website", "objects.schema.json", "/definitions/website"),
        ("audience", "objects.schema.json", "/definitions/audience"),
    ];

    /// <summary>Where each object appears in a payload of a family (dot paths from the root; [] is every item).</summary>
    private static readonly (string Object, EventFamily Family, string Path)[] PayloadLocations =
    [
        ("event", EventFamily.Booking, ""),
        ("event", EventFamily.Conversation, ""),
        ("booking", EventFamily.Booking, "data"),
        ("booking.virtual_conferencing", EventFamily.Booking, "data.virtual_conferencing"),
        ("booking.cancel_reschedule_information", EventFamily.Booking, "data.cancel_reschedule_information"),
        ("booking.form_submission", EventFamily.Booking, "data.form_submission"),
        ("booking.form_submission.custom_fields[]", EventFamily.Booking, "data.form_submission.custom_fields[]"),
        ("booking.external_calendar", EventFamily.Booking, "data.external_calendar"),
        ("booking.payment_information", EventFamily.Booking, "data.payment_information"),
        ("booking.custom_fields[]", EventFamily.Booking, "data.custom_fields[]"),
        ("conversation", EventFamily.Conversation, "data"),
        ("conversation", EventFamily.Booking, "data.conversation"),
        ("conversation.answers[]", EventFamily.Conversation, "data.answers[]"),
        ("conversation.answers[]", EventFamily.Booking, "data.conversation.answers[]"),
        ("user", EventFamily.Booking, "data.owner"),
        ("user", EventFamily.Booking, "data.conversation.owner"),
        ("user", EventFamily.Conversation, "data.owner"),
        ("contact", EventFamily.Conversation, "data.contact"),
        ("contact", EventFamily.Booking, "data.conversation.contact"),
        ("contact.custom_fields[]", EventFamily.Conversation, "data.contact.custom_fields[]"),
        ("booking_page", EventFamily.Booking, "data.booking_page"),
        ("master_page", EventFamily.Booking, "data.master_page"),
        ("event_type", EventFamily.Booking, "data.event_type"),
        ("bot", EventFamily.Conversation, "data.bot"),
        ("bot", EventFamily.Booking, "data.conversation.bot"),
        ("website", EventFamily.Conversation, "data.website"),
        ("website", EventFamily.Booking, "data.conversation.website"),
        ("audience", EventFamily.Conversation, "data.audience"),
        ("audience", EventFamily.Booking, "data.conversation.audience"),
    ];

    private static readonly Lazy<Dictionary<string, string[]>> Reference = new(() =>
    {
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "reference", "oncehub-fields.json")))!.AsObject();
        return file.ToDictionary(p => p.Key, p => p.Value!["fields"]!.AsArray().Select(f => (string)f!).ToArray());
    });

    private static readonly Dictionary<string, JsonNode> Schemas =
        ContractResources.SchemaFiles.ToDictionary(f => f, f => JsonNode.Parse(ContractResources.ReadSchema(f))!);

    private static IEnumerable<(string Name, EventFamily Family, JsonNode Payload)> AllPayloads() =>
        EventCatalog.Specific.Select(e => ($"sample {e.Name}", e.Family, JsonNode.Parse(ContractResources.ReadSample(e.Name))!))
            .Concat(Enum.GetValues<EventFamily>().SelectMany(f => ContractResources.ReadVariants(f))
                .Select(v => ($"variant {v}", v.Family, JsonNode.Parse(v.Body)!)));

    [Fact]
    public void Every_object_of_the_reference_has_a_schema_location_and_back()
    {
        Assert.Equal(Reference.Value.Keys.Order(), SchemaLocations.Select(l => l.Object).Order());
        Assert.Equal(Reference.Value.Keys.Order(), PayloadLocations.Select(l => l.Object).Distinct().Order());
    }

    [Fact]
    public void Schema_properties_are_exactly_the_reference_fields_per_object()
    {
        var table = new StringBuilder();
        table.AppendLine("| object | fields in reference | fields in schema | nullable in schema | variants carrying it |");
        table.AppendLine("|---|---|---|---|---|");
        var mismatches = new List<string>();
        foreach (var (name, file, pointer) in SchemaLocations)
        {
            var (objectSchema, objectFile) = Locate(file, pointer);
            var properties = objectSchema["properties"]!.AsObject();
            var inSchema = properties.Select(p => p.Key).Order(StringComparer.Ordinal).ToList();
            var inReference = Reference.Value[name].Order(StringComparer.Ordinal).ToList();
            var nullable = properties.Where(p => IsNullable(objectFile, p.Value!)).Select(p => p.Key).ToList();
            var variants = VariantsCarrying(name);
            var missing = inReference.Except(inSchema).ToList();
            var invented = inSchema.Except(inReference).ToList();
            if (missing.Count > 0 || invented.Count > 0)
            {
                mismatches.Add($"{name}: missing [{string.Join(", ", missing)}], not in the reference [{string.Join(", ", invented)}]");
            }
            table.AppendLine($"| {name} | {inReference.Count} | {inSchema.Count} | {nullable.Count}: {string.Join(", ", nullable)} | {(variants.Count == 0 ? "-" : string.Join(", ", variants))} |");
        }
        output.WriteLine(table.ToString());
        Assert.Empty(mismatches);
    }

    [Fact]
    public void No_sample_or_variant_carries_a_field_the_reference_does_not_document()
    {
        var invented = new List<string>();
        foreach (var (payloadName, family, payload) in AllPayloads())
        {
            foreach (var (objectName, _, path) in PayloadLocations.Where(l => l.Family == family))
            {
                foreach (var found in Find(payload, path))
                {
                    invented.AddRange(found.Select(p => p.Key).Except(Reference.Value[objectName])
                        .Select(f => $"{payloadName}: {path}.{f} ({objectName})"));
                }
            }
        }
        Assert.Empty(invented);
    }

    [Fact]
    public void Every_field_but_the_identity_keys_may_be_null()
    {
        // The FAQ: fields with no value arrive as null. Only the envelope's keys (the reference requires each, and
        // types api_version a string) and the data's object and id never do.
        var notNullable = new List<string>();
        foreach (var (name, file, pointer) in SchemaLocations)
        {
            var (objectSchema, objectFile) = Locate(file, pointer);
            foreach (var (field, schema) in objectSchema["properties"]!.AsObject())
            {
                var identity = name switch
                {
                    "event" => field is "id" or "object" or "type" or "creation_time" or "api_version" or "data",
                    "booking" or "conversation" => field is "object" or "id",
                    _ => false,
                };
                if (identity == IsNullable(objectFile, schema!))
                {
                    notNullable.Add($"{name}.{field}: nullable is {!identity}");
                }
            }
        }
        Assert.Empty(notNullable);
    }

    [Fact]
    public void No_schema_closes_its_objects()
    {
        foreach (var (file, schema) in Schemas)
        {
            Assert.DoesNotContain("additionalProperties", schema.ToJsonString(), StringComparison.Ordinal);
            Assert.Contains("oncehub", ((string?)schema["$comment"] ?? "") + file, StringComparison.OrdinalIgnoreCase);
            Assert.Contains(".yaml", (string?)schema["$comment"] ?? "", StringComparison.Ordinal);
        }
    }

    private static List<string> VariantsCarrying(string objectName)
    {
        var carrying = new List<string>();
        foreach (var variant in Enum.GetValues<EventFamily>().SelectMany(ContractResources.ReadVariants))
        {
            var payload = JsonNode.Parse(variant.Body)!;
            if (PayloadLocations.Where(l => l.Object == objectName && l.Family == variant.Family).Any(l => Find(payload, l.Path).Any()))
            {
                carrying.Add(variant.ToString());
            }
        }
        return carrying;
    }

    // Every object found at a dot path ("data.answers[]" visits each item); nulls and ids are skipped.
    private static IEnumerable<JsonObject> Find(JsonNode root, string path)
    {
        IEnumerable<JsonNode?> current = [root];
        foreach (var step in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = step.TrimEnd('[', ']');
            var each = step.EndsWith("[]", StringComparison.Ordinal);
            current = current.OfType<JsonObject>().Select(o => o[name])
                .SelectMany(n => each ? (n as JsonArray ?? []).AsEnumerable() : [n]);
        }
        return current.OfType<JsonObject>();
    }

    // Walks a pointer through the schema files, following "$ref" wherever a step needs it.
    private static (JsonNode Schema, string File) Locate(string file, string pointer)
    {
        var (node, current) = Resolve(file, Schemas[file]);
        foreach (var part in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            (node, current) = Resolve(current, node[part]!);
        }
        return (node, current);
    }

    // Follows "$ref" (same file "#/...", another file "x.schema.json#/...", or a whole file) to the schema it names.
    private static (JsonNode Schema, string File) Resolve(string file, JsonNode schema)
    {
        while (schema["$ref"] is { } reference)
        {
            var text = (string)reference!;
            var hash = text.IndexOf('#', StringComparison.Ordinal);
            var target = hash < 0 ? text : text[..hash];
            if (target.Length > 0)
            {
                file = target;
            }
            (schema, file) = Locate(file, hash < 0 ? "" : text[(hash + 1)..]);
        }
        return (schema, file);
    }

    private static bool IsNullable(string file, JsonNode schema)
    {
        var (resolved, resolvedFile) = Resolve(file, schema);
        if (resolved is JsonObject o && !o.ContainsKey("type") && !o.ContainsKey("anyOf"))
        {
            return true; // no type at all: any value, null included
        }
        return resolved["type"] switch
        {
            JsonArray types => types.Any(t => (string?)t == "null"),
            JsonValue type => (string?)type == "null",
            _ => resolved["anyOf"] is JsonArray options && options.Any(option => IsNullable(resolvedFile, option!)),
        };
    }
}
