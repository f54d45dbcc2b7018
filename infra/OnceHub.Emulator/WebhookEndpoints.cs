using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Unicode;
using OnceHub.Account;
using OnceHub.Events;

namespace OnceHub.Emulator;

/// <summary>
/// The OnceHub API v2 webhook endpoints (<c>/v2/webhooks</c>): create, list, get and delete over the account,
/// with OnceHub's rules and error JSON; requests reach them through <see cref="EmulatorGate"/>.
/// </summary>
internal sealed class WebhookEndpoints
{
    private readonly IAccountStore _store;
    private readonly FaultInjector _faults;
    private readonly ILogger _logger;
    private readonly bool _redactDeleted;
    private readonly bool _secretOnReads;

    // The ids this emulator deleted, which the redacted mode answers for; other processes' deletes are not seen.
    private readonly ConcurrentDictionary<string, bool> _deleted = new(StringComparer.Ordinal);

    private WebhookEndpoints(IAccountStore store, FaultInjector faults, ILogger logger, EmulatorOptions options)
    {
        _store = store;
        _faults = faults;
        _logger = logger;
        _redactDeleted = options.RedactDeleted;
        _secretOnReads = options.SecretOnReads;
    }

    public static void MapWebhookEndpoints(WebApplication app, IAccountStore store, FaultInjector faults, EmulatorOptions options) =>
        new WebhookEndpoints(store, faults, app.Logger, options).MapRoutes(app);

    /// <summary>The webhook API's routes, and OnceHub's 404 for any path no route serves.</summary>
    private void MapRoutes(WebApplication app)
    {
        var webhooks = app.MapGroup("/v2/webhooks");
        webhooks.MapPost("", Create);
        webhooks.MapGet("", ListWebhooks);
        webhooks.MapGet("/{id}", Get);
        webhooks.MapDelete("/{id}", Delete);
        app.MapFallback(ctx => WriteError(ctx, new ApiError(
            404, ApiErrorTypes.InvalidRequest, $"Unrecognized request URL ({ctx.Request.Method}: {RequestLog.Truncate(ctx.Request.Path.ToString())})")));
    }

    private Task Get(HttpContext ctx, string id)
    {
        var found = _store.Get(id);
        return found.Error is not null && IsRedacted(id) ? Redacted(ctx, id) : Answer(ctx, found, includeSecret: _secretOnReads);
    }

    private Task Delete(HttpContext ctx, string id)
    {
        var deleted = _store.Delete(id);
        if (deleted.Error is { } error)
        {
            return IsRedacted(id) ? Redacted(ctx, id) : WriteError(ctx, error);
        }

        if (_redactDeleted)
        {
            _deleted[id] = true;
        }

        return ctx.Response.WriteAsJsonAsync(new DeletedJson { Id = deleted.Value!.Id, Deleted = true }, OnceHubJsonContext.Writer.DeletedJson);
    }

    private bool IsRedacted(string id) => _redactDeleted && _deleted.ContainsKey(id);

    /// <summary>OnceHub's redacted form of a deleted resource: its id and object, and <c>deleted: true</c>.</summary>
    private static Task Redacted(HttpContext ctx, string id) =>
        ctx.Response.WriteAsJsonAsync(
            new DeletedJson { Id = id, Object = WireFormat.WebhookObject, Deleted = true }, OnceHubJsonContext.Writer.DeletedJson);

    private async Task Create(HttpContext ctx)
    {
        var parsed = await ReadCreateBody(ctx.Request);
        if (parsed.Error is { } bodyError)
        {
            await WriteError(ctx, bodyError);
            return;
        }

        var (name, url, events) = parsed.Value;
        if (EmulatorRules.CheckUrl(url) is { } bound)
        {
            await WriteError(ctx, bound);
            return;
        }

        var created = _store.Create(name, url, events);
        if (created.Value is { } webhook)
        {
            // Accepted, as OnceHub's older documents name these events, but said on stderr: they may never fire.
            foreach (var unlisted in EventCatalog.NotInCurrentReference(webhook.Events))
            {
                _logger.LogWarning("Webhook {Id}: {Note}", webhook.Id, EventCatalog.NotInCurrentReferenceNote(unlisted));
            }
        }

        if (created.IsSuccess && _faults.TryTakeDrop())
        {
            // Committed above; the client sees a reset connection and never learns the outcome.
            ctx.Items[EmulatorGate.DroppedKey] = true;
            ctx.Abort();
            return;
        }

        await Answer(ctx, created, includeSecret: true);
    }

    private Task ListWebhooks(HttpContext ctx)
    {
        var query = ctx.Request.Query;
        var checkedQuery = WebhookRules.CheckListQuery(
            query.ContainsKey("limit") ? query["limit"].ToString() : null, query["after"].ToString(), query["before"].ToString());
        if (checkedQuery.Error is { } queryError)
        {
            return WriteError(ctx, queryError);
        }

        var page = _store.List(checkedQuery.Value!);
        if (page.Error is { } pageError)
        {
            return WriteError(ctx, pageError);
        }

        var list = new WebhookListJson
        {
            Object = WireFormat.ListObject,
            Data = [.. page.Value!.Data.Select(w => WireFormat.ToJson(w, includeSecret: _secretOnReads))],
            HasMore = page.Value.HasMore,
        };
        return ctx.Response.WriteAsJsonAsync(list, OnceHubJsonContext.Writer.WebhookListJson);
    }

    private static Task Answer(HttpContext ctx, AccountResult<StoredWebhook> result, bool includeSecret) =>
        result.Error is { } error
            ? WriteError(ctx, error)
            : ctx.Response.WriteAsJsonAsync(WireFormat.ToJson(result.Value!, includeSecret), OnceHubJsonContext.Writer.WebhookJson);

    private static Task WriteError(HttpContext ctx, ApiError error) => ErrorAnswer.Write(ctx, error);

    /// <summary>The create body's fields with JSON types checked; the rules proper are the account's.</summary>
    private static async Task<AccountResult<(string? Name, string? Url, List<string?>? Events)>> ReadCreateBody(HttpRequest request)
    {
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new ApiError(413, ApiErrorTypes.InvalidRequest, $"The request body must be at most {EmulatorRules.MaxRequestBodyBytes} bytes", "body");
        }

        // JSON is UTF-8; the parser checks its structure but leaves the bytes inside strings to whoever reads them.
        if (!Utf8.IsValid(body))
        {
            return ApiError.Invalid("body", "The request body must be UTF-8 JSON; it holds bytes that are not valid UTF-8");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            var where = $"line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}";
            return ApiError.Invalid("body", $"The request body must be a JSON object with name, url and events; it is not valid JSON ({where})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return ApiError.Invalid("body", "The request body must be a JSON object with name, url and events");
            }

            var name = ReadString(root, "name", out var nameError);
            var url = ReadString(root, "url", out var urlError);
            if ((nameError ?? urlError) is { } error)
            {
                return error;
            }

            List<string?>? events = null;
            if (root.TryGetProperty("events", out var eventsElement) && eventsElement.ValueKind != JsonValueKind.Null)
            {
                if (eventsElement.ValueKind != JsonValueKind.Array)
                {
                    return ApiError.Invalid("events", "events must be a list of event names");
                }

                events = [];
                foreach (var item in eventsElement.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        return ApiError.Invalid("events", $"events[{events.Count}] must be a string");
                    }

                    events.Add(item.GetString());
                }
            }

            return AccountResult<(string?, string?, List<string?>?)>.Ok((name, url, events));
        }
    }

    private static string? ReadString(JsonElement root, string field, out ApiError? error)
    {
        error = null;
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            error = ApiError.Invalid(field, $"{field} must be a string");
            return null;
        }

        return value.GetString();
    }
}
