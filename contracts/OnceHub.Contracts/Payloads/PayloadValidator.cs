using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NJsonSchema;
using NJsonSchema.Validation;
using OnceHub.Events;

namespace OnceHub.Contracts.Payloads;

/// <summary>One reason a payload is not valid: where (a JSON path such as <c>$.data.owner</c>) and which rule.</summary>
public sealed record PayloadError(string Path, string Rule)
{
    public override string ToString() => $"{Path}: {Rule}";
}

/// <summary>
/// Validates webhook payloads against the envelope schema and, chosen by the event's family, the booking
/// or conversation schema. Thread-safe once created; create it once (loading parses the schemas).
/// </summary>
public sealed class PayloadValidator
{
    private static readonly Lazy<PayloadValidator> Shared = new(() => Load());

    private readonly JsonSchema _event;
    private readonly Dictionary<EventFamily, JsonSchema> _families;

    private PayloadValidator(JsonSchema @event, Dictionary<EventFamily, JsonSchema> families)
    {
        _event = @event;
        _families = families;
    }

    /// <summary>A validator over the embedded schemas, loaded once per process.</summary>
    public static PayloadValidator Default => Shared.Value;

    /// <summary>The envelope schema as loaded, with the <c>type</c> enum filled in from the catalog.</summary>
    public JsonSchema EventSchema => _event;

    public JsonSchema FamilySchema(EventFamily family) => _families[family];

    private static PayloadValidator Load()
    {
        var envelope = Parse("event.schema.json");
        // The type enum comes from the catalog, never from the file, so the two cannot drift apart.
        var type = envelope.Properties["type"];
        type.Enumeration.Clear();
        foreach (var e in EventCatalog.Specific)
        {
            type.Enumeration.Add(e.Name);
        }
        return new PayloadValidator(envelope, new Dictionary<EventFamily, JsonSchema>
        {
            [EventFamily.Booking] = Parse("booking.schema.json"),
            [EventFamily.Conversation] = Parse("conversation.schema.json"),
        });
    }

    private static JsonSchema Parse(string file) =>
        JsonSchema.FromJsonAsync(ContractResources.ReadSchema(file)).GetAwaiter().GetResult();

    /// <summary>Validates raw payload bytes (UTF-8 JSON).</summary>
    public IReadOnlyList<PayloadError> Validate(ReadOnlySpan<byte> utf8Json)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(utf8Json);
        }
        catch (DecoderFallbackException)
        {
            return [new PayloadError("$", "body is not valid UTF-8")];
        }
        return Validate(text);
    }

    /// <summary>Validates a payload given as JSON text.</summary>
    public IReadOnlyList<PayloadError> Validate(string json)
    {
        JToken token;
        try
        {
            // Dates stay strings so "format": "date-time" sees exactly what was sent.
            using var reader = new JsonTextReader(new StringReader(json)) { DateParseHandling = DateParseHandling.None };
            token = JToken.ReadFrom(reader);
            if (reader.Read())
            {
                return [new PayloadError("$", "body has content after the JSON value")];
            }
        }
        catch (JsonReaderException ex)
        {
            return [new PayloadError("$", $"body is not valid JSON (line {ex.LineNumber}, position {ex.LinePosition})")];
        }

        var errors = new List<PayloadError>();
        Collect(_event.Validate(token), errors);
        if (token is JObject root && root["data"] is JObject data
            && root["type"] is JValue { Type: JTokenType.String } typeValue
            && FamilyOf((string)typeValue!) is { } family)
        {
            var before = errors.Count;
            Collect(_families[family].Validate(data), errors);
            for (var i = before; i < errors.Count; i++)
            {
                if (errors[i].Path == "$.data.object")
                {
                    // Say why: the event's family, not the data alone, decides which object must be there.
                    errors[i] = errors[i] with { Rule = $"family: must be '{family.WireName()}' for a {family.WireName()} event ('{typeValue}')" };
                }
            }
        }
        return errors;
    }

    // A composite type is already an error, but its family still tells how to check data.
    private static EventFamily? FamilyOf(string type) =>
        EventCatalog.TryGet(type, out var e) ? e.Family
        : EventCatalog.Composites.TryGetValue(type, out var family) ? family
        : null;

    // NJsonSchema reports paths from the document root even when validating a nested token.
    private static void Collect(IEnumerable<ValidationError> found, List<PayloadError> into)
    {
        foreach (var error in found)
        {
            into.Add(new PayloadError(ToJsonPath("$", error), Describe(error)));
        }
    }

    // NJsonSchema reports paths like "#/data.owner" or "#/form_submission.guests[0]"; missing
    // properties are reported on the parent, so the property name is appended.
    private static string ToJsonPath(string prefix, ValidationError error)
    {
        var path = error.Path ?? "#";
        path = path.StartsWith("#/", StringComparison.Ordinal) ? path[2..] : path.TrimStart('#');
        var result = path.Length == 0 ? prefix : path.StartsWith('[') ? prefix + path : prefix + "." + path;
        if (error.Kind == ValidationErrorKind.PropertyRequired && error.Property is { Length: > 0 } missing
            && !result.EndsWith("." + missing, StringComparison.Ordinal))
        {
            result += "." + missing;
        }
        return result;
    }

    private static string Describe(ValidationError error)
    {
        var schema = error.Schema;
        var rule = error.Kind switch
        {
            ValidationErrorKind.PropertyRequired => "required: the property is missing",
            ValidationErrorKind.NotInEnumeration when schema is { Enumeration.Count: 1 } =>
                $"enum: must be '{schema.Enumeration.First()}'",
            ValidationErrorKind.NotInEnumeration when schema is not null =>
                "enum: must be one of " + string.Join(", ", schema.Enumeration.Select(v => $"'{v}'")),
            ValidationErrorKind.PatternMismatch when schema is not null => $"pattern: must match {schema.Pattern}",
            ValidationErrorKind.NoTypeValidates when schema is not null =>
                "type: must be " + schema.Type.ToString().ToLowerInvariant().Replace(", ", " or ", StringComparison.Ordinal)
                + (schema.Item is not null ? " (with valid items)" : ""),
            ValidationErrorKind.NotAnyOf => "anyOf: matches none of the allowed shapes",
            ValidationErrorKind.DateTimeExpected => "format: must be an RFC 3339 date-time",
            ValidationErrorKind.IntegerExpected => "type: must be an integer",
            ValidationErrorKind.ObjectExpected => "type: must be an object",
            ValidationErrorKind.StringExpected => "type: must be a string",
            ValidationErrorKind.ArrayExpected => "type: must be an array",
            ValidationErrorKind.NumberTooSmall when schema?.Minimum is { } min => $"minimum: must be at least {min}",
            _ => "rule " + error.Kind,
        };
        if (error.Kind == ValidationErrorKind.NotAnyOf && schema?.Description is { Length: > 0 } description)
        {
            rule += " (" + description.TrimEnd('.') + ")";
        }
        return rule;
    }
}
