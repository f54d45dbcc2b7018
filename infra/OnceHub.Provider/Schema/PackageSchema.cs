using System.Reflection;
using System.Text;
using System.Text.Json;
using OnceHub.Api;
using OnceHub.Events;
using OnceHub.Provider.Protocol;
using OnceHub.Provider.Resources;

namespace OnceHub.Provider.Schema;

/// <summary>The Pulumi package schema that GetSchema returns (and that SDK generators read).</summary>
public static class PackageSchema
{
    public const string EventTypeToken = "oncehub:index:WebhookEvent";

    /// <summary>The plugin's semver: the assembly's informational version without build metadata.</summary>
    public static string Version { get; } = ReadVersion();

    /// <summary>Where the engine downloads this plugin's release archives from: the build's PluginDownloadUrl property.</summary>
    public static string PluginDownloadUrl { get; } =
        typeof(PackageSchema).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == "PluginDownloadUrl")?.Value
        ?? throw new InvalidOperationException("the build stamped no PluginDownloadUrl");

    private const string DuplicateEvents =
        "Duplicate events are dropped, keeping the first occurrence of each, as OnceHub does. Order does not matter: reordering the same events is not a change.";

    private static readonly Lazy<string> Json = new(Build);

    public static string Text => Json.Value;

    private static string ReadVersion()
    {
        var version = typeof(PackageSchema).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(PackageSchema).Assembly.GetName().Version?.ToString(3)
            ?? "0.0.0";
        var plus = version.IndexOf('+');
        return plus >= 0 ? version[..plus] : version;
    }

    private static string Build()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("name", ProviderConfig.Package);
            w.WriteString("displayName", "OnceHub");
            w.WriteString("version", Version);
            w.WriteString("description",
                "OnceHub webhook subscriptions as Pulumi resources, through OnceHub API v2 or an embedded local account.");
            w.WriteStartArray("keywords");
            w.WriteStringValue("oncehub");
            w.WriteStringValue("webhooks");
            w.WriteStringValue("category/utility");
            w.WriteEndArray();
            w.WriteString("license", "Apache-2.0");
            w.WriteString("pluginDownloadURL", PluginDownloadUrl);

            w.WriteStartObject("config");
            w.WriteStartObject("variables");
            WriteConfigProperties(w);
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("provider");
            w.WriteString("description", "The oncehub provider: which OnceHub account to manage, and how to reach it.");
            w.WriteString("type", "object");
            w.WriteStartObject("inputProperties");
            WriteConfigProperties(w);
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("types");
            WriteEventType(w);
            w.WriteEndObject();

            w.WriteStartObject("resources");
            WriteWebhook(w);
            w.WriteEndObject();

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteConfigProperties(Utf8JsonWriter w)
    {
        WriteProperty(w, ProviderConfig.ApiKey, "string",
            $"The OnceHub API key (sent as the API-Key header). Required for an http(s) apiUrl; a file: account needs none. Falls back to the {ProviderConfig.ApiKeyEnvironmentVariable} environment variable.",
            () =>
            {
                w.WriteBoolean("secret", true);
                w.WriteStartObject("defaultInfo");
                w.WriteStartArray("environment");
                w.WriteStringValue(ProviderConfig.ApiKeyEnvironmentVariable);
                w.WriteEndArray();
                w.WriteEndObject();
            });

        WriteProperty(w, ProviderConfig.ApiUrl, "string",
            "Where OnceHub is: an https base URL (plain http only on a loopback address, such as a local emulator), or a file: URI of an embedded local account folder (a relative path is taken from the project folder, e.g. file:./.oncehub/dev-account).",
            () => w.WriteString("default", OnceHubClientOptions.DefaultBaseUrl));

        WriteProperty(w, ProviderConfig.AllowInsecureUrls, "boolean",
            "Let webhook urls use plain http on a loopback address (http://127.0.0.1, http://localhost) for local stacks. Default false: https only.",
            () => w.WriteBoolean("default", false));
    }

    /// <summary>One property: its type and description, then whatever else <paramref name="rest"/> says of it.</summary>
    private static void WriteProperty(Utf8JsonWriter w, string name, string type, string description, Action? rest = null)
    {
        w.WriteStartObject(name);
        w.WriteString("type", type);
        w.WriteString("description", description);
        rest?.Invoke();
        w.WriteEndObject();
    }

    private static void WriteEventType(Utf8JsonWriter w)
    {
        WriteProperty(w, EventTypeToken, "string",
            "An event a webhook subscribes to: a specific event, or a composite (booking, conversation) that stands for every event of its family.",
            () =>
            {
                w.WriteStartArray("enum");
                foreach (var (composite, family) in EventCatalog.Composites)
                {
                    WriteEnumValue(w, composite, $"Every {family.WireName()} event.");
                }

                foreach (var e in EventCatalog.Specific)
                {
                    WriteEnumValue(w, e.Name, e.Description);
                }

                w.WriteEndArray();
            });
    }

    private static void WriteEnumValue(Utf8JsonWriter w, string value, string description)
    {
        w.WriteStartObject();
        w.WriteString("name", ToPascal(value));
        w.WriteString("value", value);
        w.WriteString("description", description);
        w.WriteEndObject();
    }

    private static string ToPascal(string wire)
    {
        var sb = new StringBuilder(wire.Length);
        var upper = true;
        foreach (var c in wire)
        {
            if (c is '.' or '_')
            {
                upper = true;
                continue;
            }

            sb.Append(upper ? char.ToUpperInvariant(c) : c);
            upper = false;
        }

        return sb.ToString();
    }

    private static void WriteWebhook(Utf8JsonWriter w)
    {
        w.WriteStartObject(WebhookResource.Token);
        w.WriteString("description",
            "A OnceHub webhook subscription: OnceHub signs and posts the listed events to the url. OnceHub cannot change a webhook, so any change to name, url or events replaces it (deleting first when the name stays the same, as names are unique in an account).");
        w.WriteString("type", "object");

        w.WriteStartObject("inputProperties");
        WriteInputs(w);
        w.WriteEndObject();
        w.WriteStartArray("requiredInputs");
        w.WriteStringValue(WebhookResource.Url);
        w.WriteStringValue(WebhookResource.Events);
        w.WriteEndArray();

        w.WriteStartObject("properties");
        WriteInputs(w);
        WriteProperty(w, WebhookResource.Secret, "string",
            "The signing secret: the HMAC-SHA256 key of the Oncehub-Signature header. OnceHub shows it when the webhook is created; it is kept as a Pulumi secret.",
            () => w.WriteBoolean("secret", true));
        WriteProperty(w, WebhookResource.ApiVersion, "string", "The OnceHub API version whose payloads the webhook delivers, e.g. v2.");
        WriteProperty(w, WebhookResource.CreationTime, "string", "When OnceHub created the webhook (UTC, ISO 8601).");
        w.WriteEndObject();

        w.WriteStartArray("required");
        foreach (var p in new[] { WebhookResource.Name, WebhookResource.Url, WebhookResource.Events, WebhookResource.ApiVersion, WebhookResource.CreationTime })
        {
            w.WriteStringValue(p);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>The inputs, written both as input properties and as outputs; a change to any replaces the webhook.</summary>
    private static void WriteInputs(Utf8JsonWriter w)
    {
        WriteProperty(w, WebhookResource.Name, "string",
            "The webhook's name, unique in the account; it must contain a letter or digit. Defaults to the resource name plus a 7-character random suffix, stable for the resource.",
            () => w.WriteBoolean("willReplaceOnChanges", true));
        WriteProperty(w, WebhookResource.Url, "string",
            "The receiver endpoint. Must be https; with the provider's allowInsecureUrls, plain http on a loopback address is accepted for local stacks.",
            () => w.WriteBoolean("willReplaceOnChanges", true));
        WriteProperty(w, WebhookResource.Events, "array",
            $"The events to deliver, at least one: specific events ({string.Join(", ", EventCatalog.Specific.Select(e => e.Name))}) or the composites booking and conversation. {DuplicateEvents}",
            () =>
            {
                w.WriteStartObject("items");
                w.WriteString("$ref", "#/types/" + EventTypeToken);
                w.WriteEndObject();
                w.WriteBoolean("willReplaceOnChanges", true);
            });
    }
}
