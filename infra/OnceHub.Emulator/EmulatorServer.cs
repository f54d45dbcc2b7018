using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;
using OnceHub.Account;
using OnceHub.Events;

namespace OnceHub.Emulator;

/// <summary>
/// OnceHub API v2 webhooks on 127.0.0.1: the same endpoints, rules and error JSON, over an in-memory
/// or file-backed account, with injectable faults.
/// </summary>
public sealed class EmulatorServer : IAsyncDisposable
{
    private const string ApiKeyHeader = ApiAuthentication.HeaderName;
    private const string RequestIdHeader = "Request-Id";
    private const string DroppedKey = "oncehub.dropped";

    /// <summary>A logged line is cut here: paths and queries come from anyone who can connect.</summary>
    private const int MaxLoggedLineLength = 300;

    private readonly WebApplication _app;
    private readonly IAccountStore _store;
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly int _requestLogCapacity;
    private readonly bool _redactDeleted;
    private readonly bool _secretOnReads;

    // The ids this emulator deleted, which the redacted mode answers for; other processes' deletes are not seen.
    private readonly ConcurrentDictionary<string, bool> _deleted = new(StringComparer.Ordinal);
    private long _requestCount;

    private EmulatorServer(WebApplication app, IAccountStore store, FaultInjector faults, EmulatorOptions options)
    {
        _app = app;
        _store = store;
        Faults = faults;
        _requestLogCapacity = options.RequestLogCapacity;
        _redactDeleted = options.RedactDeleted;
        _secretOnReads = options.SecretOnReads;
    }

    /// <summary><c>http://127.0.0.1:PORT/v2</c>.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public FaultInjector Faults { get; }

    public int WebhookCount => _store.Snapshot().Count;

    /// <summary>The account's webhooks in creation order, secrets included (their ToString hides them).</summary>
    public IReadOnlyList<StoredWebhook> Webhooks => _store.Snapshot();

    /// <summary>
    /// The latest requests (at most <see cref="EmulatorOptions.RequestLogCapacity"/>), as
    /// <c>METHOD /path?query -> status</c>, in arrival order.
    /// </summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    /// <summary>Every request answered since the start, also those no longer in <see cref="Requests"/>.</summary>
    public int RequestCount => (int)Interlocked.Read(ref _requestCount);

    /// <exception cref="ArgumentException">An option is invalid; the message names it.</exception>
    public static async Task<EmulatorServer> StartAsync(EmulatorOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            throw new ArgumentException("EmulatorOptions.ApiKey must be non-empty", nameof(options));
        }

        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentException("EmulatorOptions.Port must be 0..65535", nameof(options));
        }

        var storeOptions = new AccountStoreOptions { AllowInsecureUrls = options.AllowInsecureUrls };
        IAccountStore store = options.DataDirectory is { } dir
            ? new FileAccountStore(dir, storeOptions)
            : new InMemoryAccountStore(storeOptions);
        // Read the account once now: a corrupt one fails the start with its file named, and the first
        // request does not pay for parsing a large one.
        _ = store.Snapshot();

        if (options.RequestLogCapacity is < 1 or > 1_000_000)
        {
            throw new ArgumentException("EmulatorOptions.RequestLogCapacity must be 1..1000000", nameof(options));
        }

        var faults = new FaultInjector();
        try
        {
            faults.Latency = options.Latency;
            faults.RateLimitPerSecond = options.RateLimitPerSecond;
            faults.SetAddressLimit(options.AddressLimit, options.AddressLimitWindow);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            faults.Dispose();
            throw new ArgumentException($"EmulatorOptions: {ex.Message}", nameof(options), ex);
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(EmulatorServer).Assembly.GetName().Name,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        // stdout carries the base URL line only (launchers read it); every log line goes to stderr.
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A start that fails (a port in use) is rethrown to the caller, which reports it in one line.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, options.Port);
            k.Limits.MaxRequestBodySize = EmulatorRules.MaxRequestBodyBytes;
        });

        var app = builder.Build();
        var server = new EmulatorServer(app, store, faults, options);
        server.UseMiddleware(options.ApiKey);
        server.MapRoutes();
        // Local delivery: trigger route outside /v2 and, with --deliver, the retry loop (LocalDelivery/).
        LocalDelivery.LocalDeliveryEndpoints.MapLocalDelivery(app, store, options.ApiKey, options.LocalDelivery);
        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            faults.Dispose();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        server.BaseUrl = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/v2");
        return server;
    }

    /// <summary>Completes when the host is asked to stop (Ctrl+C, SIGTERM).</summary>
    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        Faults.Dispose();
    }

    /// <summary>
    /// What every request goes through, in OnceHub's order as far as it shows: a <c>Request-Id</c> on
    /// every answer, the per-address limit (before authentication, so anonymous floods are limited
    /// too), the API key, then the per-account limit.
    /// </summary>
    private void UseMiddleware(string apiKey)
    {
        var expectedKey = Encoding.UTF8.GetBytes(apiKey);
        var app = _app;

        app.Use(async (ctx, next) =>
        {
            ctx.Response.Headers[RequestIdHeader] = "req_" + RandomNumberGenerator.GetHexString(16, lowercase: true);
            var line = $"{ctx.Request.Method} {ctx.Request.Path}{ctx.Request.QueryString}";
            try
            {
                await next(ctx);
                var outcome = ctx.Items.ContainsKey(DroppedKey) ? "committed, connection dropped"
                    : ctx.RequestAborted.IsCancellationRequested ? "aborted"
                    : ctx.Response.StatusCode.ToString(CultureInfo.InvariantCulture);
                LogRequest(line, outcome);
            }
            catch (AccountStoreException ex)
            {
                LogRequest(line, "500");
                await WriteError(ctx, new ApiError(500, ApiErrorTypes.Api, ex.Message));
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !ctx.Response.HasStarted)
            {
                // Any other failure still gets OnceHub's error JSON and this answer's Request-Id, not an empty 500.
                LogRequest(line, "500");
                await WriteError(ctx, new ApiError(500, ApiErrorTypes.Api, $"The emulator failed to answer: {ex.GetType().Name}"));
            }
        });

        app.Use(async (ctx, next) =>
        {
            var latency = Faults.Latency;
            if (latency > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(latency, ctx.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return; // the client gave up
                }
            }

            if (Faults.TryTakeFailure(out var status, out var retryAfter))
            {
                if ((retryAfter ?? (status == 429 ? "1" : null)) is { } header)
                {
                    ctx.Response.Headers.RetryAfter = header;
                }

                await WriteError(ctx, new ApiError(status, ApiErrorTypes.ForStatus(status), $"Injected failure: HTTP {status}"));
                return;
            }

            var address = ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            if (!Faults.TryAcquireForAddress(address, out var addressWait))
            {
                await RateLimited(ctx, addressWait);
                return;
            }

            var given = ctx.Request.Headers[ApiKeyHeader].ToString();
            if (given.Length == 0)
            {
                await WriteError(ctx, new ApiError(401, ApiErrorTypes.Authentication, "No API key provided: send it in the API-Key header"));
                return;
            }

            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expectedKey))
            {
                await WriteError(ctx, new ApiError(401, ApiErrorTypes.Authentication, ApiAuthentication.InvalidKeyMessage));
                return;
            }

            if (!Faults.TryAcquire(out var wait))
            {
                await RateLimited(ctx, wait);
                return;
            }

            await next(ctx);
        });
    }

    /// <summary>Every route the emulator serves, in one place.</summary>
    private void MapRoutes()
    {
        var webhooks = _app.MapGroup("/v2/webhooks");
        webhooks.MapPost("", Create);
        webhooks.MapGet("", ListWebhooks);
        webhooks.MapGet("/{id}", Get);
        webhooks.MapDelete("/{id}", Delete);
        _app.MapFallback(ctx => WriteError(ctx, new ApiError(
            404, ApiErrorTypes.InvalidRequest, $"Unrecognized request URL ({ctx.Request.Method}: {Truncate(ctx.Request.Path.ToString())})")));
    }

    private void LogRequest(string line, string outcome)
    {
        _requests.Enqueue($"{Truncate(line)} -> {outcome}");
        Interlocked.Increment(ref _requestCount);
        // Bounded: a long-running emulator (or a flood of anonymous requests) must not grow without end.
        while (_requests.Count > _requestLogCapacity && _requests.TryDequeue(out _))
        {
        }
    }

    private static string Truncate(string text) =>
        text.Length <= MaxLoggedLineLength ? text : text[..MaxLoggedLineLength] + "…";

    /// <summary>OnceHub's 429. OnceHub documents no rate-limit headers; the emulator adds <c>Retry-After</c> as a hint.</summary>
    private static Task RateLimited(HttpContext ctx, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        ctx.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return WriteError(ctx, ApiError.RateLimited());
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
                _app.Logger.LogWarning("Webhook {Id}: {Note}", webhook.Id, EventCatalog.NotInCurrentReferenceNote(unlisted));
            }
        }

        if (created.IsSuccess && Faults.TryTakeDrop())
        {
            // Committed above; the client sees a reset connection and never learns the outcome.
            ctx.Items[DroppedKey] = true;
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

    private static Task WriteError(HttpContext ctx, ApiError error)
    {
        ctx.Response.StatusCode = error.Status;
        return ctx.Response.WriteAsJsonAsync(
            new ErrorJson { Type = error.Type, Message = error.Message, Param = error.Param },
            OnceHubJsonContext.Writer.ErrorJson);
    }

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
