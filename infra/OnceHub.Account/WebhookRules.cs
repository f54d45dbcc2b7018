using System.Globalization;
using System.Security.Cryptography;
using OnceHub.Events;

namespace OnceHub.Account;

/// <summary>OnceHub's webhook rules, in one place for the emulator, the local account and the client.</summary>
public static class WebhookRules
{
    public const string ApiVersion = "v2";
    public const string IdPrefix = "WHK-";
    public const int DefaultLimit = 10;
    public const int MaxLimit = 100;

    /// <summary>Secrets shorter than this many hex characters are refused wherever one is read.</summary>
    public const int MinSecretHexLength = 32;

    private const string IdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const int IdRandomLength = 12;
    private const int MaxEchoedLength = 40;

    /// <summary>The shape of a webhook id, as <see cref="IsWellFormedId"/> checks it.</summary>
    public const string IdRule = "WHK- and 1 to 64 letters or digits";

    /// <summary>True for an id in OnceHub's shape; one of another shape cannot name any webhook.</summary>
    public static bool IsWellFormedId(string? id) =>
        id is { Length: > 4 and <= 68 } && id.StartsWith(IdPrefix, StringComparison.Ordinal) && id[IdPrefix.Length..].All(char.IsAsciiLetterOrDigit);

    /// <summary>
    /// Checks a create request. Repeated events are accepted and de-duplicated, keeping each name's
    /// first occurrence, so the stored list is the request's order without repeats. Either the request or
    /// the refusal of the first rule it breaks.
    /// </summary>
    public static (CheckedCreate? Request, WebhookRefusal? Refusal) CheckCreate(
        string? name, string? url, IEnumerable<string?>? events, bool allowInsecureUrls)
    {
        if ((CheckName(name) ?? CheckUrl(url, allowInsecureUrls)) is { } refusal)
        {
            return (null, refusal);
        }

        var (checkedEvents, eventsRefusal) = CheckEvents(events);
        return eventsRefusal is null ? (new CheckedCreate(name!, url!, checkedEvents!), null) : (null, eventsRefusal);
    }

    public static WebhookRefusal? CheckName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return new("name", WebhookRule.Required);
        }

        return name.Any(char.IsLetterOrDigit) ? null : new("name", WebhookRule.Alphanumeric);
    }

    public static WebhookRefusal? CheckUrl(string? url, bool allowInsecureUrls)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return new("url", WebhookRule.Required);
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            return new("url", WebhookRule.AbsoluteUrl);
        }

        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return null;
        }

        if (allowInsecureUrls)
        {
            return uri.Scheme == Uri.UriSchemeHttp && IsLoopbackHost(uri.Host)
                ? null
                : new("url", WebhookRule.HttpsOrLoopbackHttp, uri.Scheme);
        }

        return new("url", WebhookRule.Https, uri.Scheme);
    }

    /// <summary>The three loopback spellings the insecure opt-in admits, nothing wider.</summary>
    public static bool IsLoopbackHost(string host) =>
        host is "127.0.0.1" or "[::1]" || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase);

    /// <summary>The events without repeats, or the refusal of the first rule the list breaks.</summary>
    public static (IReadOnlyList<string>? Events, WebhookRefusal? Refusal) CheckEvents(IEnumerable<string?>? events)
    {
        if (events is null)
        {
            return (null, new("events", WebhookRule.Required));
        }

        var result = new List<string>();
        var index = 0;
        foreach (var name in events)
        {
            if (string.IsNullOrEmpty(name))
            {
                return (null, new("events", WebhookRule.NonEmptyEvent, index.ToString(CultureInfo.InvariantCulture)));
            }

            if (!EventCatalog.IsSubscribable(name))
            {
                return (null, new("events", WebhookRule.KnownEvent, name));
            }

            result.Add(name);
            index++;
        }

        return result.Count == 0 ? (null, new("events", WebhookRule.AtLeastOneEvent)) : (WithoutRepeats(result), null);
    }

    /// <summary>Repeated events dropped, keeping each name's first occurrence: the list as OnceHub stores it.</summary>
    public static IReadOnlyList<string> WithoutRepeats(IEnumerable<string> events)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. events.Where(seen.Add)];
    }

    /// <summary>Checks listing parameters as they arrive in a query string.</summary>
    public static AccountResult<ListQuery> CheckListQuery(string? limit, string? after, string? before)
    {
        var parsedLimit = DefaultLimit;
        if (limit is not null && !int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out parsedLimit))
        {
            return LimitError(limit);
        }

        return CheckListQuery(new ListQuery(parsedLimit, NullIfEmpty(after), NullIfEmpty(before)));
    }

    public static AccountResult<ListQuery> CheckListQuery(ListQuery query)
    {
        if (query.Limit is < 1 or > MaxLimit)
        {
            return LimitError(query.Limit.ToString(CultureInfo.InvariantCulture));
        }

        if (query.After is not null && query.Before is not null)
        {
            // OnceHub's reference names no param for this one: both are at fault.
            return new ApiError(400, ApiErrorTypes.InvalidRequest, "Received both before and after parameters. Please provide only one.");
        }

        return AccountResult<ListQuery>.Ok(query);
    }

    /// <summary>
    /// One page of <paramref name="all"/> (given in creation order), listed newest first as OnceHub
    /// lists. <c>after</c> pages on toward older webhooks, <c>before</c> back toward newer ones; a
    /// cursor must be the id of a webhook of the account.
    /// </summary>
    public static AccountResult<WebhookPage> Page(IReadOnlyList<StoredWebhook> all, ListQuery query)
    {
        var checkedQuery = CheckListQuery(query);
        if (checkedQuery.Error is { } error)
        {
            return error;
        }

        var newestFirst = new List<StoredWebhook>(all.Count);
        for (var i = all.Count - 1; i >= 0; i--)
        {
            newestFirst.Add(all[i]);
        }

        if (query.After is { } after)
        {
            var at = IndexOf(newestFirst, after);
            if (at < 0)
            {
                return ApiError.Invalid("after", $"after must be the id of an existing webhook: No such webhook: '{after}'");
            }

            var start = at + 1;
            var count = Math.Min(query.Limit, newestFirst.Count - start);
            return AccountResult<WebhookPage>.Ok(new WebhookPage(newestFirst.GetRange(start, count), start + count < newestFirst.Count));
        }

        if (query.Before is { } before)
        {
            var at = IndexOf(newestFirst, before);
            if (at < 0)
            {
                return ApiError.Invalid("before", $"before must be the id of an existing webhook: No such webhook: '{before}'");
            }

            // The page just before the cursor, in the same (newest first) order.
            var start = Math.Max(0, at - query.Limit);
            return AccountResult<WebhookPage>.Ok(new WebhookPage(newestFirst.GetRange(start, at - start), start > 0));
        }

        var first = Math.Min(query.Limit, newestFirst.Count);
        return AccountResult<WebhookPage>.Ok(new WebhookPage(newestFirst.GetRange(0, first), newestFirst.Count > query.Limit));
    }

    public static string NewId() => IdPrefix + new string(RandomNumberGenerator.GetItems<char>(IdAlphabet, IdRandomLength));

    /// <summary>32 random bytes as 64 lowercase hex characters.</summary>
    public static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>True for a plausible signing secret: lowercase or uppercase hex, at least 32 characters.</summary>
    public static bool IsWellFormedSecret(string? secret) =>
        secret is { Length: >= MinSecretHexLength } && secret.All(char.IsAsciiHexDigit);

    private static int IndexOf(IReadOnlyList<StoredWebhook> all, string id)
    {
        for (var i = 0; i < all.Count; i++)
        {
            if (string.Equals(all[i].Id, id, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>OnceHub's wording; the value is echoed cut short, as it comes from anyone who can send a query.</summary>
    private static ApiError LimitError(string value)
    {
        var shown = new string([.. value.Take(MaxEchoedLength).Select(c => char.IsControl(c) ? '?' : c)]) + (value.Length > MaxEchoedLength ? "…" : "");
        return ApiError.Invalid("limit", $"Out of range value: {shown}. Please provide a number between 1 and {MaxLimit}.");
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
