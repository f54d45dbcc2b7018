using NJsonSchema;
using NJsonSchema.References;

namespace OnceHub.Webhooks;

/// <summary>
/// Loads the schema files from this assembly, resolving references between them (for example
/// <c>objects.schema.json#/definitions/user</c>) by file name, so the files stay plain JSON Schema that any
/// tool can read beside each other in <c>schemas/</c>, and no file repeats another's definitions.
/// </summary>
internal static class SchemaSet
{
    public static JsonSchema Load(string fileName) =>
        JsonSchema.FromJsonAsync(WebhookSchemas.ReadSchema(fileName), fileName, CreateResolver).GetAwaiter().GetResult();

    private static JsonReferenceResolver CreateResolver(JsonSchema root) =>
        new EmbeddedFileResolver(new JsonSchemaAppender(root, new DefaultTypeNameGenerator()));

    private sealed class EmbeddedFileResolver(JsonSchemaAppender appender) : JsonReferenceResolver(appender)
    {
        // References name sibling files; a folder in the reference would point outside the schema set.
        public override string ResolveFilePath(string documentPath, string jsonPath)
        {
            var file = jsonPath.Split('#', 2)[0];
            if (file.Contains('/', StringComparison.Ordinal) || file.Contains('\\', StringComparison.Ordinal)
                || !WebhookSchemas.SchemaFiles.Contains(file))
            {
                throw new InvalidOperationException($"schema reference '{jsonPath}' in '{documentPath}' names no schema file of this set");
            }
            return file;
        }

        // The library makes the path absolute on the way; the file name is what names the resource.
        public override async Task<IJsonReference> ResolveFileReferenceAsync(string filePath, CancellationToken cancellationToken = default)
        {
            var file = Path.GetFileName(filePath);
            return await JsonSchema.FromJsonAsync(WebhookSchemas.ReadSchema(file), file, CreateResolver, cancellationToken).ConfigureAwait(false);
        }
    }
}
