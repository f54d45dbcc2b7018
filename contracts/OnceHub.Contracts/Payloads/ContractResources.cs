using System.Reflection;
using OnceHub.Events;

namespace OnceHub.Contracts.Payloads;

/// <summary>The schema files and sample payloads shipped inside this assembly.</summary>
public static class ContractResources
{
    private static readonly Assembly Assembly = typeof(ContractResources).Assembly;

    /// <summary>Names of the schema files, as in the repository's <c>schemas/</c> folder.</summary>
    public static IReadOnlyList<string> SchemaFiles { get; } =
        ["event.schema.json", "booking.schema.json", "conversation.schema.json"];

    /// <summary>The raw text of one schema file.</summary>
    public static string ReadSchema(string fileName) => ReadText("schemas/" + fileName);

    /// <summary>The documented sample payload of a specific event, byte for byte as in <c>samples/</c>.</summary>
    public static byte[] ReadSample(string eventName)
    {
        if (!EventCatalog.IsDeliverable(eventName))
        {
            throw new ArgumentException($"'{eventName}' is not a specific event type of the catalog", nameof(eventName));
        }
        return ReadBytes("samples/" + eventName + ".json");
    }

    private static string ReadText(string name)
    {
        using var stream = Open(name);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static byte[] ReadBytes(string name)
    {
        using var stream = Open(name);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static Stream Open(string name) =>
        Assembly.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException($"embedded resource '{name}' is missing from {Assembly.GetName().Name}");
}
