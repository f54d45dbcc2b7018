using OnceHub.Events;

namespace OnceHub.Account;

/// <summary>OnceHub's error <c>type</c> values, each with the HTTP statuses that carry it.</summary>
public static class ApiErrorTypes
{
    public const string Authentication = "authentication_error"; // 401, 403
    public const string InvalidRequest = "invalid_request_error"; // 400, 404, 409, 422
    public const string RateLimit = "rate_limit_error"; // 429
    public const string Api = "api_error"; // 5xx

    // Client-side only, never sent by OnceHub: no answer arrived (status 0).
    public const string Timeout = "timeout_error";
    public const string Connection = "connection_error";

    /// <summary>The type OnceHub uses for a status code.</summary>
    public static string ForStatus(int status) => status switch
    {
        401 or 403 => Authentication,
        429 => RateLimit,
        >= 500 => Api,
        _ => InvalidRequest,
    };
}

/// <summary>
/// The error model shared by the emulator (which writes it as OnceHub's error JSON), the embedded
/// local account and the API client (which raises it as an exception).
/// </summary>
/// <param name="Status">HTTP status code.</param>
/// <param name="Type">OnceHub's <c>type</c>.</param>
/// <param name="Message">OnceHub's <c>message</c>: never holds an API key or a webhook secret.</param>
/// <param name="Param">The request field at fault, when there is one.</param>
public sealed record ApiError(int Status, string Type, string Message, string? Param = null)
{
    /// <summary>OnceHub's 404 for a webhook id: the message quotes the id and <c>param</c> names it.</summary>
    public static ApiError NotFound(string id) => new(404, ApiErrorTypes.InvalidRequest, $"No such webhook: '{id}'", "id");

    /// <summary>OnceHub's 429: its documented type and message.</summary>
    public static ApiError RateLimited() => new(429, ApiErrorTypes.RateLimit, ApiLimits.RateLimitMessage);

    public static ApiError NameTaken(string name) =>
        new(409, ApiErrorTypes.InvalidRequest, $"A webhook subscription with this name already exists: '{name}'", "name");

    public static ApiError Invalid(string param, string message) => new(400, ApiErrorTypes.InvalidRequest, message, param);

    /// <summary>A field rule's refusal as the API words it: a 400 naming the field.</summary>
    public static ApiError Refused(WebhookRefusal refusal) => Invalid(refusal.Field, refusal.Rule switch
    {
        WebhookRule.Required when refusal.Field == "events" => "events is required: a non-empty list of event names",
        WebhookRule.Required => $"{refusal.Field} is required",
        WebhookRule.Alphanumeric => "name must contain at least one alphanumeric character",
        WebhookRule.AbsoluteUrl => "url must be an absolute URL with a host, e.g. https://example.com/hooks",
        WebhookRule.HttpsOrLoopbackHttp => "url must use https (http is allowed only for 127.0.0.1, localhost or [::1])",
        WebhookRule.Https => "url must use https",
        WebhookRule.NonEmptyEvent => $"events[{refusal.Detail}] must be a non-empty event name",
        WebhookRule.KnownEvent =>
            $"Unknown event '{refusal.Detail}' in events: expected one of {string.Join(", ", EventCatalog.SubscribableNames)}",
        WebhookRule.AtLeastOneEvent => "events must list at least one event",
        _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal.Rule, "a rule without API wording"),
    });
}
