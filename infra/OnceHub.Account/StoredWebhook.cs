namespace OnceHub.Account;

/// <summary>A webhook subscription as the account keeps it, signing secret included.</summary>
public sealed record StoredWebhook(
    string Id,
    string Name,
    string Url,
    IReadOnlyList<string> Events,
    string ApiVersion,
    DateTimeOffset CreationTime,
    string Secret)
{
    // Records print every property; the secret must never reach a log line.
    public override string ToString() =>
        $"StoredWebhook {{ Id = {Id}, Name = {Name}, Events = [{string.Join(", ", Events)}], CreationTime = {CreationTime:O}, Secret = *** }}";
}

/// <summary>One page of a listing.</summary>
public sealed record WebhookPage(IReadOnlyList<StoredWebhook> Data, bool HasMore);

/// <summary>A validated listing query: <see cref="Limit"/> in 1..100, at most one cursor.</summary>
public sealed record ListQuery(int Limit = WebhookRules.DefaultLimit, string? After = null, string? Before = null);

/// <summary>A create request that passed every rule: events de-duplicated, first occurrence kept.</summary>
public sealed record CheckedCreate(string Name, string Url, IReadOnlyList<string> Events);
