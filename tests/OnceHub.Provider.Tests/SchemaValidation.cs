using System.Text.Json.Nodes;
using NJsonSchema;

namespace OnceHub.Provider.Tests;

/// <summary>Loads Pulumi's reference schemas (copied into the test project) for NJsonSchema.</summary>
public static class SchemaValidation
{
    public static string ReferencePath(string file) => Path.Combine(AppContext.BaseDirectory, "reference", file);

    /// <summary>
    /// NJsonSchema resolves draft-04..07 <c>definitions</c>; Pulumi's schemas are draft 2020-12 with
    /// <c>$defs</c>, so the section and its references are renamed, boolean subschemas written as
    /// objects and <c>const</c> as a one-value <c>enum</c>; the rules themselves are unchanged.
    /// </summary>
    public static async Task<JsonSchema> LoadAsync(string file)
    {
        var node = JsonNode.Parse(await File.ReadAllTextAsync(ReferencePath(file)))!.AsObject();
        if (node["$defs"] is { } defs)
        {
            node.Remove("$defs");
            node["definitions"] = defs;
        }

        node.Remove("$schema");
        ReplaceBooleanSchemas(node);
        var text = node.ToJsonString().Replace("#/$defs/", "#/definitions/", StringComparison.Ordinal);
        return await JsonSchema.FromJsonAsync(text);
    }

    /// <summary>
    /// 2020-12 lets <c>true</c>/<c>false</c> stand for a schema (Pulumi uses <c>"items": false</c> to forbid
    /// a key); NJsonSchema reads only object schemas there, so write them as <c>{}</c> and <c>{"not": {}}</c>.
    /// </summary>
    private static readonly string[] SchemaMaps = ["properties", "definitions", "patternProperties"];
    private static readonly string[] SchemaLists = ["allOf", "anyOf", "oneOf"];
    private static readonly string[] SingleSchemas = ["items", "additionalProperties", "not", "if", "then", "else", "propertyNames", "contains"];

    private static void ReplaceBooleanSchemas(JsonNode? node)
    {
        if (node is not JsonObject schema)
        {
            return;
        }

        if (schema["const"] is { } constant && !schema.ContainsKey("enum"))
        {
            // NJsonSchema ignores "const"; a one-value enum means the same.
            schema.Remove("const");
            schema["enum"] = new JsonArray(constant.DeepClone());
        }

        foreach (var key in SchemaMaps)
        {
            if (schema[key] is JsonObject map)
            {
                foreach (var (name, sub) in map.ToList())
                {
                    map[name] = AsObjectSchema(sub);
                    ReplaceBooleanSchemas(map[name]);
                }
            }
        }

        foreach (var key in SchemaLists)
        {
            if (schema[key] is JsonArray list)
            {
                foreach (var sub in list)
                {
                    ReplaceBooleanSchemas(sub);
                }
            }
        }

        foreach (var key in SingleSchemas)
        {
            // additionalProperties: true/false is understood as it is.
            if (schema[key] is { } sub && key != "additionalProperties")
            {
                schema[key] = AsObjectSchema(sub);
            }

            ReplaceBooleanSchemas(schema[key]);
        }
    }

    private static JsonNode? AsObjectSchema(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue<bool>(out var allowed)
            ? allowed ? new JsonObject() : new JsonObject { ["not"] = new JsonObject() }
            : node?.DeepClone();

    public static string Describe(ICollection<NJsonSchema.Validation.ValidationError> errors) =>
        string.Join("\n", errors.Select(e => $"{e.Path}: {e.Kind} {e}"));
}
