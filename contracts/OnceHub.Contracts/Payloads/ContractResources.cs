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
    public static IReadOnlyList<PayloadVariant> ReadVariants(EventFamily family) =>
        [.. ReadFolder($"samples/variants/{family.WireName()}/").Select(f => new PayloadVariant(f.Name, family, f.Body))];

    /// <summary>The lifecycle scenario files (<c>samples/scenarios/&lt;name&gt;.json</c>), by name, in name order.</summary>
    public static IReadOnlyList<(string Name, byte[] Body)> ReadScenarios() => ReadFolder("samples/scenarios/");

    /// <summary>A check's own fixture, <c>samples/checks/&lt;name&gt;.json</c>.</summary>
    public static byte[] ReadCheckFixture(string name) => ReadBytes("samples/checks/" + name + ".json");

    /// <summary>The JSON files directly under <paramref name="prefix"/>, named without folder and extension.</summary>
    private static IReadOnlyList<(string Name, byte[] Body)> ReadFolder(string prefix) =>
        [.. Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (n[prefix.Length..^".json".Length], ReadBytes(n)))];

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
