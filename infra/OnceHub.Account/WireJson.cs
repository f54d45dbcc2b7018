using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OnceHub.Account;

/// <summary>OnceHub's webhook object on the wire. Every field is nullable so a missing one is reported, not assumed.</summary>
public sealed class WebhookJson
{
    [JsonPropertyName("object")]
    public string? Object { get; set; }

    public string? Id { get; set; }

    public string? ApiVersion { get; set; }

    public string? Name { get; set; }

    public string? Url { get; set; }

    public List<string?>? Events { get; set; }

    public string? CreationTime { get; set; }

    /// <summary>Present when the webhook is created; omitted on reads.</summary>
    public string? Secret { get; set; }

    /// <summary>True in OnceHub's redacted answer for a deleted webhook, which holds only id and object besides.</summary>
    public bool? Deleted { get; set; }

    public override string ToString() => $"WebhookJson {{ Id = {Id}, Name = {Name} }}";
}

public sealed class WebhookListJson
{
    [JsonPropertyName("object")]
    public string? Object { get; set; }

    public List<WebhookJson?>? Data { get; set; }

    public bool? HasMore { get; set; }
}

/// <summary>OnceHub's error body. <see cref="Error"/> admits the nested <c>{"error": {...}}</c> spelling too.</summary>
public sealed class ErrorJson
{
    public string? Type { get; set; }

    public string? Message { get; set; }

    public string? Param { get; set; }

    public ErrorJson? Error { get; set; }
}

/// <summary>
/// OnceHub's answer to a DELETE: the id and <c>deleted: true</c>; with <see cref="Object"/>, the redacted form a
/// deleted resource is read back in.
/// </summary>
public sealed class DeletedJson
{
    public string? Id { get; set; }

    [JsonPropertyName("object")]
    public string? Object { get; set; }

    public bool? Deleted { get; set; }
}

public sealed class CreateWebhookJson
{
    public string? Name { get; set; }

    public string? Url { get; set; }

    public List<string>? Events { get; set; }
}

/// <summary>The embedded local account's state file (a snapshot; changes since are in the journal).</summary>
public sealed class AccountFileJson
{
    public int Format { get; set; }

    /// <summary>The id of the journal that continues this snapshot; null: no journal (all is here).</summary>
    public string? Journal { get; set; }

    public List<WebhookJson?>? Webhooks { get; set; }
}

/// <summary>One line of the account's journal: its header (<see cref="Journal"/>), a create or a delete.</summary>
public sealed class JournalEntryJson
{
    public string? Journal { get; set; }

    public string? Op { get; set; }

    public WebhookJson? Webhook { get; set; }

    public string? Id { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(WebhookJson))]
[JsonSerializable(typeof(WebhookListJson))]
[JsonSerializable(typeof(ErrorJson))]
[JsonSerializable(typeof(CreateWebhookJson))]
[JsonSerializable(typeof(DeletedJson))]
[JsonSerializable(typeof(AccountFileJson))]
[JsonSerializable(typeof(JournalEntryJson))]
public sealed partial class OnceHubJsonContext : JsonSerializerContext
{
    /// <summary>For writing: same contract, but quotes and apostrophes in messages stay readable.</summary>
    public static OnceHubJsonContext Writer { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>Conversions between <see cref="StoredWebhook"/> and the wire object, with field checks.</summary>
public static class WireFormat
{
    public const string WebhookObject = "webhook";
    public const string ListObject = "list";

    public static WebhookJson ToJson(StoredWebhook webhook, bool includeSecret) => new()
    {
        Object = WebhookObject,
        Id = webhook.Id,
        ApiVersion = webhook.ApiVersion,
        Name = webhook.Name,
        Url = webhook.Url,
        Events = [.. webhook.Events],
        CreationTime = FormatTime(webhook.CreationTime),
        Secret = includeSecret ? webhook.Secret : null,
    };

    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// The first problem with a webhook object, naming the field, or null when it is complete.
    /// Never quotes the secret.
    /// </summary>
    public static string? Problem(WebhookJson? json, bool requireSecret)
    {
        if (json is null)
        {
            return "the webhook object is null";
        }

        if (json.Object is not null && json.Object != WebhookObject)
        {
            return $"field 'object' is '{json.Object}', expected '{WebhookObject}'";
        }

        if (string.IsNullOrEmpty(json.Id))
        {
            return "field 'id' is missing or empty";
        }

        if (string.IsNullOrEmpty(json.Name))
        {
            return $"field 'name' is missing or empty (webhook {json.Id})";
        }

        if (string.IsNullOrEmpty(json.Url))
        {
            return $"field 'url' is missing or empty (webhook {json.Id})";
        }

        if (json.Events is null || json.Events.Any(string.IsNullOrEmpty))
        {
            return $"field 'events' is missing or holds an empty name (webhook {json.Id})";
        }

        if (string.IsNullOrEmpty(json.ApiVersion))
        {
            return $"field 'api_version' is missing or empty (webhook {json.Id})";
        }

        if (!TryParseTime(json.CreationTime, out _))
        {
            return $"field 'creation_time' is missing or not an ISO 8601 time (webhook {json.Id})";
        }

        if (json.Secret is null ? requireSecret : !WebhookRules.IsWellFormedSecret(json.Secret))
        {
            return $"field 'secret' is missing or not a hex string of at least {WebhookRules.MinSecretHexLength} characters (webhook {json.Id})";
        }

        return null;
    }

    public static bool TryParseTime(string? text, out DateTimeOffset time) =>
        DateTimeOffset.TryParse(
            text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
}
