using System.Reflection;

namespace OnceHub.Webhooks;

/// <summary>The JSON Schemas of OnceHub's webhook payloads, shipped inside this assembly (their one copy).</summary>
public static class WebhookSchemas
{
    private static readonly Assembly Assembly = typeof(WebhookSchemas).Assembly;

    /// <summary>Names of the schema files: the envelope, the two families' data and their shared objects.</summary>
    public static IReadOnlyList<string> SchemaFiles { get; } =
        ["event.schema.json", "booking.schema.json", "conversation.schema.json", "objects.schema.json"];

    /// <summary>The raw text of one schema file.</summary>
    public static string ReadSchema(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        if (!SchemaFiles.Contains(fileName))
        {
            throw new ArgumentException($"'{fileName}' is not one of the schema files ({string.Join(", ", SchemaFiles)})", nameof(fileName));
        }
        using var stream = Assembly.GetManifestResourceStream("schemas/" + fileName)
            ?? throw new InvalidOperationException($"embedded schema '{fileName}' is missing from {Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
