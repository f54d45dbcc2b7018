using System.Reflection;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Payloads;

/// <summary>The schema files and sample payloads shipped inside this assembly.</summary>
public static class ContractResources
{
    private static readonly Assembly Assembly = typeof(ContractResources).Assembly;

    /// <summary>Names of the schema files (they live in the receiving library, their one copy).</summary>
    public static IReadOnlyList<string> SchemaFiles => WebhookSchemas.SchemaFiles;

    /// <summary>The raw text of one schema file.</summary>
    public static string ReadSchema(string fileName) => WebhookSchemas.ReadSchema(fileName);

    /// <summary>The documented sample payload of a specific event, byte for byte as in <c>samples/</c>.</summary>
    public static byte[] ReadSample(string eventName)
    {
        if (!EventCatalog.IsDeliverable(eventName))
        {
            throw new ArgumentException($"'{eventName}' is not a specific event type of the catalog", nameof(eventName));
        }
        return ReadBytes("samples/" + eventName + ".json");
    }

    /// <summary>
    /// The variants of a family's payload (files under <c>samples/variants/&lt;family&gt;/</c>): shapes OnceHub
    /// documents beside the samples (every nullable field null, booking calendar, expanded objects, API v1).
    /// </summary>
    public static IReadOnlyList<PayloadVariant> ReadVariants(EventFamily family)
    {
        var prefix = $"samples/variants/{family.WireName()}/";
        return [.. Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => new PayloadVariant(n[prefix.Length..^".json".Length], family, ReadBytes(n)))];
    }

    /// <summary>A lifecycle fixture, <c>samples/lifecycles/&lt;name&gt;.json</c>: one object's steps and the orders they are delivered in.</summary>
    public static byte[] ReadLifecycle(string name) => ReadBytes("samples/lifecycles/" + name + ".json");

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

/// <summary>One variant payload file: its name (the file name without extension), family and bytes.</summary>
public sealed record PayloadVariant(string Name, EventFamily Family, byte[] Body)
{
    public override string ToString() => $"{Family.WireName()}/{Name}";
}
