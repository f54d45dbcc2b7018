using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using NJsonSchema;
using NJsonSchema.Validation;
using OnceHub.Events;

namespace OnceHub.Webhooks;

/// <summary>One reason a payload is not valid: where (a JSON path such as <c>$.data.owner</c>) and which rule.</summary>
public sealed record PayloadError(string Path, string Rule)
{
    public override string ToString() => $"{Path}: {Rule}";
}

/// <summary>
/// What validation found. Errors break the envelope, a documented field's type or the family rule: such a
/// payload is not what OnceHub sends. Warnings are worth a look but valid: an event type the catalog does
/// not know yet (OnceHub adds types over time).
/// </summary>
public sealed record PayloadReport(IReadOnlyList<PayloadError> Errors, IReadOnlyList<PayloadError> Warnings)
{
    public bool IsValid => Errors.Count == 0;
}

/// <summary>
/// Validates webhook payloads against the envelope schema and, chosen by the event's family, the booking
/// or conversation schema. Thread-safe once created; create it once (loading parses the schemas).
/// Not trimming safe: NJsonSchema and its JSON reader reflect over types. Reading events
/// (<see cref="Events.OnceHubEvent"/>) is; in a trimmed app, the receiver still verifies, reads and handles
/// events, and only the schema findings it logs depend on this class.
/// </summary>
[RequiresUnreferencedCode("Schema validation uses NJsonSchema, which reflects over types; the typed events (OnceHubEvent) are trimming safe.")]
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

    /// <summary>The envelope schema as loaded.</summary>
    public JsonSchema EventSchema => _event;

    public JsonSchema FamilySchema(EventFamily family) => _families[family];

    private static PayloadValidator Load() => new(SchemaSet.Load("event.schema.json"), new Dictionary<EventFamily, JsonSchema>
    {
        [EventFamily.Booking] = SchemaSet.Load("booking.schema.json"),
        [EventFamily.Conversation] = SchemaSet.Load("conversation.schema.json"),
    });

    /// <summary>The errors only (see <see cref="Check(ReadOnlySpan{byte})"/> for warnings too).</summary>
    public IReadOnlyList<PayloadError> Validate(ReadOnlySpan<byte> utf8Json) => Check(utf8Json).Errors;

    /// <summary>The errors only (see <see cref="Check(string)"/> for warnings too).</summary>
    public IReadOnlyList<PayloadError> Validate(string json) => Check(json).Errors;

    /// <summary>Checks raw payload bytes (UTF-8 JSON).</summary>
    public PayloadReport Check(ReadOnlySpan<byte> utf8Json)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(utf8Json);
        }
        catch (DecoderFallbackException)
        {
            return Failed("body is not valid UTF-8");
        }
        return Check(text);
    }

    /// <summary>Checks a payload given as JSON text.</summary>
    public PayloadReport Check(string json)
    {
        // Strict first (no comments, no trailing commas, one value): OnceHub sends strict JSON, and the
        // schema library's own reader would quietly accept what a receiver's strict parser then refuses.
        try
        {
            using var strict = System.Text.Json.JsonDocument.Parse(json);
        }
        catch (System.Text.Json.JsonException ex)
        {
            return Failed($"body is not valid JSON (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1})");
        }

        JToken token;
        // Dates stay strings so "format": "date-time" sees exactly what was sent.
        using (var reader = new JsonTextReader(new StringReader(json)) { DateParseHandling = DateParseHandling.None })
        {
            token = JToken.ReadFrom(reader);
        }

        var errors = new List<PayloadError>();
        var warnings = new List<PayloadError>();
        Collect(_event.Validate(token), errors);
        if (token is not JObject root || root["type"] is not JValue { Type: JTokenType.String } typeValue)
        {
            return new PayloadReport(errors, warnings);
        }
        var type = (string)typeValue!;
        EventFamily? family;
        if (EventCatalog.TryGet(type, out var known))
        {
            family = known.Family;
            if (!known.InCurrentReference)
            {
                warnings.Add(new PayloadError("$.type", $"reference: {EventCatalog.NotInCurrentReferenceNote(known)}"));
            }
        }
        else if (EventCatalog.Composites.TryGetValue(type, out var composite))
        {
            family = composite;
            errors.Add(new PayloadError("$.type",
                $"family: '{type}' is a subscription name for every {type} event, never an event's type (e.g. '{EventCatalog.Specific.First(e => e.Family == composite).Name}')"));
        }
        else if (type.Length == 0)
        {
            family = null; // already an error of the envelope (minLength): nothing to warn about
        }
        else
        {
            family = FamilyByPrefix(type);
            warnings.Add(new PayloadError("$.type", family is { } f
                ? $"catalog: '{type}' is not a known event type; OnceHub adds types over time, so it is accepted (data checked as a {f.WireName()})"
                : $"catalog: '{type}' is not a known event type and names no known family; OnceHub adds types over time, so it is accepted (data not checked)"));
        }
        if (family is { } fam && root["data"] is JObject data)
        {
            var before = errors.Count;
            Collect(_families[fam].Validate(data), errors);
            for (var i = before; i < errors.Count; i++)
            {
                if (errors[i].Path == "$.data.object")
                {
                    // Say why: the event's family, not the data alone, decides which object must be there.
                    errors[i] = errors[i] with { Rule = $"family: must be '{fam.WireName()}' for a {fam.WireName()} event ('{type}')" };
                }
            }
        }
        return new PayloadReport(errors, warnings);
    }

    private static PayloadReport Failed(string rule) => new([new PayloadError("$", rule)], []);

    // "booking.something_new" is still a booking: the family is the part before the first dot.
    private static EventFamily? FamilyByPrefix(string type)
    {
        var dot = type.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && EventCatalog.Composites.TryGetValue(type[..dot], out var family) ? family : null;
    }

    private static readonly HashSet<ValidationErrorKind> TypeMismatches =
    [
        ValidationErrorKind.NullExpected, ValidationErrorKind.StringExpected, ValidationErrorKind.ArrayExpected,
        ValidationErrorKind.ObjectExpected, ValidationErrorKind.IntegerExpected, ValidationErrorKind.NumberExpected,
        ValidationErrorKind.BooleanExpected,
    ];

    // NJsonSchema reports paths from the document root even when validating a nested token.
    private static void Collect(IEnumerable<ValidationError> found, List<PayloadError> into)
    {
        foreach (var error in found)
        {
            // An array item's errors are its own: report them at the item ("$.data.attendees[0]").
            if (error is ChildSchemaValidationError { Kind: ValidationErrorKind.ArrayItemNotValid } items)
            {
                Collect(items.Errors.SelectMany(e => e.Value), into);
                continue;
            }
            // A value of one of a nullable field's types (a string for ["string", "null"]) that breaks a rule
            // of that type: report that rule (format, item type), not "must be null or string".
            if (error is MultiTypeValidationError types)
            {
                var inner = types.Errors.SelectMany(e => e.Value).Where(e => !TypeMismatches.Contains(e.Kind)).ToList();
                if (inner.Count > 0)
                {
                    // Each type branch may report the same finding: keep it once.
                    var branch = new List<PayloadError>();
                    Collect(inner, branch);
                    into.AddRange(branch.Distinct());
                    continue;
                }
            }
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
            ValidationErrorKind.StringTooShort when schema?.MinLength is { } minLength => $"minLength: must have at least {minLength} character(s)",
            ValidationErrorKind.NullExpected => "type: must be null",
            ValidationErrorKind.BooleanExpected => "type: must be a boolean",
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
