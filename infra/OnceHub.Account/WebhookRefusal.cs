namespace OnceHub.Account;

/// <summary>The rule of <see cref="WebhookRules"/> that a webhook field broke.</summary>
public enum WebhookRule
{
    /// <summary>The field is missing or blank.</summary>
    Required,

    /// <summary>A name holds no letter or digit.</summary>
    Alphanumeric,

    /// <summary>A URL does not parse as absolute, or has no host.</summary>
    AbsoluteUrl,

    /// <summary>A URL's scheme is not https; the detail is the scheme.</summary>
    Https,

    /// <summary>With insecure URLs allowed: a URL is neither https nor http to a loopback host; the detail is the scheme.</summary>
    HttpsOrLoopbackHttp,

    /// <summary>An entry of the event list is empty; the detail is its index.</summary>
    NonEmptyEvent,

    /// <summary>An event is not one OnceHub delivers; the detail is its name.</summary>
    KnownEvent,

    /// <summary>The event list is empty.</summary>
    AtLeastOneEvent,
}

/// <summary>
/// A value a rule refused, as data: each surface (the API's error JSON, Pulumi's check failures) words it
/// its own way, so the rule itself lives only in <see cref="WebhookRules"/>.
/// </summary>
/// <param name="Field">The request field at fault: <c>name</c>, <c>url</c> or <c>events</c>.</param>
/// <param name="Rule">The rule it broke.</param>
/// <param name="Detail">The offending part (a scheme, an event name, an index), when the rule has one.</param>
public sealed record WebhookRefusal(string Field, WebhookRule Rule, string? Detail = null);
