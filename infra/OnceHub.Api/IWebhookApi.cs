namespace OnceHub.Api;

/// <summary>What a caller asks OnceHub to create.</summary>
public sealed record WebhookRequest(string Name, string Url, IReadOnlyList<string> Events);

/// <summary>A webhook subscription as OnceHub returns it.</summary>
/// <param name="Id">OnceHub's id, <c>WHK-…</c>.</param>
/// <param name="Name">Unique within the account.</param>
/// <param name="Url">Where deliveries go.</param>
/// <param name="Events">Subscribed event names, composites included.</param>
/// <param name="ApiVersion">The payload version, <c>v2</c>.</param>
/// <param name="CreationTime">When OnceHub created it.</param>
/// <param name="Secret">The signing secret: present on create; reads may omit it.</param>
public sealed record Webhook(
    string Id,
    string Name,
    string Url,
    IReadOnlyList<string> Events,
    string ApiVersion,
    DateTimeOffset CreationTime,
    string? Secret)
{
    // Records print every property; the secret must never reach a log line.
    public override string ToString() =>
        $"Webhook {{ Id = {Id}, Name = {Name}, Url = {Url}, Events = [{string.Join(", ", Events)}], ApiVersion = {ApiVersion}, CreationTime = {CreationTime:O}, Secret = {(Secret is null ? "(none)" : "***")} }}";
}

/// <summary>OnceHub API v2 webhooks, over HTTP or against the embedded local account.</summary>
public interface IWebhookApi : IDisposable
{
    /// <summary>Creates a webhook. Never leaves a duplicate behind after an ambiguous failure.</summary>
    /// <exception cref="OnceHubApiException">OnceHub refused, or the outcome could not be established.</exception>
    Task<Webhook> CreateAsync(WebhookRequest request, CancellationToken cancellationToken = default);

    /// <summary>One webhook, or null when it is gone: OnceHub answers 404, or the deleted webhook in redacted form.</summary>
    Task<Webhook?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Every webhook of the account, following every page, newest first as OnceHub lists them.</summary>
    Task<IReadOnlyList<Webhook>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Deletes a webhook; true when it was deleted now, false when it was already gone (404).</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);
}
