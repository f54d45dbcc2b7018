using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using OnceHub.Account;
using Polly;
using Polly.Timeout;
using RestSharp;

namespace OnceHub.Api;

/// <summary>OnceHub API v2 over HTTP: RestSharp for the calls, Polly pipelines for resilience.</summary>
internal sealed class HttpWebhookApi : IWebhookApi
{
    private const int PageLimit = WebhookRules.MaxLimit;
    private const int MaxListRestarts = 3;
    private const string RequestIdHeader = "Request-Id";
    private const int MaxRequestIdLength = 200;

    private readonly RestClient _rest;
    private readonly ResiliencePipeline<RestResponse> _idempotent;
    private readonly ResiliencePipeline<RestResponse> _create;
    private readonly OnceHubClientOptions _options;
    private readonly Action<string>? _log;
    private readonly RequestPacer? _pacer;
    private int _disposed;

    public HttpWebhookApi(OnceHubClientOptions options, Action<string>? log)
    {
        _options = options;
        _log = log;
        var restOptions = new RestClientOptions(options.BaseUrl)
        {
            // A redirect would carry the API-Key header to wherever it points.
            FollowRedirects = false,
            // Polly's attempt timeout governs; this backstop never fires first.
            Timeout = options.AttemptTimeout + TimeSpan.FromSeconds(5),
            // Status codes are interpreted here, not turned into transport errors.
            CalculateResponseStatus = _ => ResponseStatus.Completed,
            ThrowOnAnyError = false,
            UserAgent = "OnceHubStack-client",
        };
        _rest = new RestClient(restOptions);
        _rest.AddDefaultHeader(ApiAuthentication.HeaderName, options.ApiKey);
        _rest.AddDefaultHeader("Accept", "application/json");
        _pacer = RequestPacer.Acquire(options);
        _idempotent = ResiliencePipelines.Idempotent(options, _pacer, log);
        _create = ResiliencePipelines.NonIdempotent(options, _pacer, log);
    }

    public async Task<Webhook> CreateAsync(WebhookRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = JsonSerializer.Serialize(
            new CreateWebhookJson { Name = request.Name, Url = request.Url, Events = request.Events?.ToList() },
            OnceHubJsonContext.Default.CreateWebhookJson);
        const string what = "create webhook";

        OnceHubApiException failure;
        try
        {
            var response = await Execute(
                _create, () => new RestRequest("webhooks", Method.Post).AddStringBody(body, ContentType.Json), what, cancellationToken);
            if (IsSuccess(response))
            {
                try
                {
                    return ParseWebhook(response, what);
                }
                catch (OnceHubApiException unreadable)
                {
                    // Created, but the answer cannot be read: adopt it as after a lost answer rather
                    // than report a failure that leaves the webhook behind.
                    failure = unreadable;
                }
            }
            else
            {
                failure = ErrorFrom(response, what);
                if (failure.StatusCode < 500)
                {
                    // A definite refusal (400, 401, 409, a 429 past its retries): nothing was created.
                    throw failure;
                }
            }
        }
        catch (OnceHubApiException noAnswer) when (noAnswer.StatusCode == 0)
        {
            failure = noAnswer;
        }

        // Ambiguous (no answer, reset, 5xx): the create may have been committed. Names are unique,
        // so a webhook with this name, url and events is the one just asked for.
        return await Reconcile(request, failure, cancellationToken);
    }

    private async Task<Webhook> Reconcile(WebhookRequest request, OnceHubApiException failure, CancellationToken cancellationToken)
    {
        IReadOnlyList<Webhook> all;
        try
        {
            all = await ListAsync(cancellationToken);
        }
        catch (OnceHubApiException listFailure)
        {
            throw Annotate(failure, $"checking whether it was created failed too: {listFailure.Message}");
        }

        var named = all.FirstOrDefault(w => string.Equals(w.Name, request.Name, StringComparison.Ordinal));
        if (named is null)
        {
            throw Annotate(failure, $"no webhook named '{request.Name}' exists afterwards");
        }

        if (!string.Equals(named.Url, request.Url, StringComparison.Ordinal)
            || !named.Events.ToHashSet(StringComparer.Ordinal).SetEquals(request.Events ?? []))
        {
            throw Annotate(failure, $"a webhook named '{request.Name}' exists ({named.Id}) but with another url or events");
        }

        // The listing carries no secret, so the adopted webhook's Secret is null.
        _log?.Invoke($"OnceHub {failure.Message}; adopted the committed webhook {named.Id} named '{named.Name}'");
        return named;
    }

    public async Task<Webhook?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var what = $"get webhook {id}";
        var response = await Execute(
            _idempotent, () => new RestRequest("webhooks/{id}").AddUrlSegment("id", id), what, cancellationToken);
        if (IsSuccess(response))
        {
            var json = Deserialize(response, OnceHubJsonContext.Default.WebhookJson, what);
            // OnceHub's redacted mode: a deleted resource read by id answers 200 with only id, object and deleted.
            return json is { Deleted: true } && string.Equals(json.Id, id, StringComparison.Ordinal) ? null : ToWebhook(response, json, what);
        }

        var error = ErrorFrom(response, what);
        return IsNoSuchWebhook(response, error) ? null : throw error;
    }

    public async Task<IReadOnlyList<Webhook>> ListAsync(CancellationToken cancellationToken = default)
    {
        for (var restart = 0; ; restart++)
        {
            try
            {
                return await ListOnce(cancellationToken);
            }
            catch (OnceHubApiException ex) when (ex is { StatusCode: 400, Param: "after" } && restart < MaxListRestarts)
            {
                // The cursor's webhook was deleted while paging: start over.
                _log?.Invoke($"OnceHub list webhooks: {ex.Message}; listing again from the start");
            }
        }
    }

    private async Task<IReadOnlyList<Webhook>> ListOnce(CancellationToken cancellationToken)
    {
        var all = new List<Webhook>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? after = null;
        while (true)
        {
            const string what = "list webhooks";
            var cursor = after;
            var response = await Execute(_idempotent, () =>
            {
                var request = new RestRequest("webhooks").AddQueryParameter("limit", PageLimit.ToString(CultureInfo.InvariantCulture));
                return cursor is null ? request : request.AddQueryParameter("after", cursor);
            }, what, cancellationToken);
            if (!IsSuccess(response))
            {
                throw ErrorFrom(response, what);
            }

            var page = Deserialize(response, OnceHubJsonContext.Default.WebhookListJson, what);
            if (page.Object is not null && page.Object != WireFormat.ListObject)
            {
                throw Malformed(response, what, $"field 'object' is '{page.Object}', expected '{WireFormat.ListObject}'");
            }

            if (page.Data is null || page.HasMore is null)
            {
                throw Malformed(response, what, "fields 'data' and 'has_more' are required");
            }

            foreach (var item in page.Data)
            {
                var webhook = ToWebhook(response, item, what);
                if (!seen.Add(webhook.Id))
                {
                    throw Malformed(response, what, $"webhook {webhook.Id} appeared on two pages");
                }

                all.Add(webhook);
            }

            if (page.HasMore != true)
            {
                return all;
            }

            if (page.Data.Count == 0)
            {
                throw Malformed(response, what, "has_more is true on an empty page");
            }

            after = all[^1].Id;
        }
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var what = $"delete webhook {id}";
        var response = await Execute(
            _idempotent, () => new RestRequest("webhooks/{id}", Method.Delete).AddUrlSegment("id", id), what, cancellationToken);
        if (IsSuccess(response))
        {
            return true;
        }

        var error = ErrorFrom(response, what);
        return IsNoSuchWebhook(response, error) ? false : throw error;
    }

    public void Dispose()
    {
        // The pacer is shared and counts its clients: release it once.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _rest.Dispose();
            _pacer?.Dispose();
        }
    }

    private async Task<RestResponse> Execute(
        ResiliencePipeline<RestResponse> pipeline, Func<RestRequest> build, string what, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ResiliencePipelines.Operation, what);
        var attempts = 0;
        try
        {
            return await pipeline.ExecuteAsync(
                async ctx =>
                {
                    attempts++;
                    return await SendOnce(build(), ctx.CancellationToken);
                },
                context);
        }
        catch (TimeoutRejectedException ex)
        {
            var which = ex.Timeout == _options.TotalTimeout ? "the total timeout" : "the attempt timeout";
            throw new OnceHubApiException(new ApiError(
                0, ApiErrorTypes.Timeout,
                $"{what}: OnceHub did not answer within {Seconds(ex.Timeout)} s ({which}); {Attempts(attempts)}"), ex);
        }
        catch (HttpRequestException ex)
        {
            throw new OnceHubApiException(new ApiError(
                0, ApiErrorTypes.Connection,
                $"{what}: could not reach OnceHub at {_options.BaseUrl.Host}:{_options.BaseUrl.Port} ({ex.Message}); {Attempts(attempts)}"), ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<RestResponse> SendOnce(RestRequest request, CancellationToken cancellationToken)
    {
        var response = await _rest.ExecuteAsync(request, cancellationToken);
        // Cancelled by the attempt timeout or the caller: Polly tells which from the token.
        cancellationToken.ThrowIfCancellationRequested();
        if (response.StatusCode == 0)
        {
            throw response.ErrorException as HttpRequestException
                ?? new HttpRequestException(response.ErrorException?.Message ?? "no response", response.ErrorException);
        }

        if (_pacer is not null)
        {
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                // Every other call of this process holds off too, instead of spending more of the budget.
                _pacer.Pause(ResiliencePipelines.RetryAfter(response, _options.TimeProvider));
            }
            else
            {
                _pacer.Succeeded();
            }
        }

        return response;
    }

    private static bool IsSuccess(RestResponse response) => (int)response.StatusCode is >= 200 and < 300;

    /// <summary>
    /// A 404 counts as "no such webhook" only with OnceHub's error JSON and message, never a bare
    /// 404 from a wrong base URL: reading that as "gone" would make a caller forget a live webhook.
    /// </summary>
    private static bool IsNoSuchWebhook(RestResponse response, OnceHubApiException error) =>
        response.StatusCode == HttpStatusCode.NotFound && ParseError(response.Content) is not null
        && error.Error.Message.StartsWith("No such webhook", StringComparison.Ordinal);

    private OnceHubApiException ErrorFrom(RestResponse response, string what)
    {
        var status = (int)response.StatusCode;
        if (ParseError(response.Content) is { } error)
        {
            return new OnceHubApiException(new ApiError(
                status, string.IsNullOrEmpty(error.Type) ? ApiErrorTypes.ForStatus(status) : error.Type,
                Scrub(error.Message!), string.IsNullOrEmpty(error.Param) ? null : error.Param), requestId: RequestIdOf(response));
        }

        return new OnceHubApiException(new ApiError(
            status, ApiErrorTypes.ForStatus(status),
            $"{what}: OnceHub answered HTTP {status} {response.StatusDescription} without an error object (is the base URL right?)"),
            requestId: RequestIdOf(response));
    }

    /// <summary>
    /// The answer's <c>Request-Id</c> (every OnceHub answer has one), kept only when it is one printable token of
    /// reasonable length without the API key: it comes from the network and goes into messages and logs.
    /// </summary>
    private string? RequestIdOf(RestResponse response)
    {
        var value = response.Headers?.FirstOrDefault(h => string.Equals(h.Name, RequestIdHeader, StringComparison.OrdinalIgnoreCase))?.Value?.ToString();
        return value is { Length: > 0 and <= MaxRequestIdLength } && value.All(c => c is > ' ' and <= '~')
            && (_options.ApiKey.Length == 0 || !value.Contains(_options.ApiKey, StringComparison.Ordinal)) ? value : null;
    }

    private static ErrorJson? ParseError(string? content)
    {
        if (string.IsNullOrWhiteSpace(content))
        {
            return null;
        }

        try
        {
            var error = JsonSerializer.Deserialize(content, OnceHubJsonContext.Default.ErrorJson);
            error = error?.Error ?? error;
            return string.IsNullOrEmpty(error?.Message) ? null : error;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private Webhook ParseWebhook(RestResponse response, string what) =>
        ToWebhook(response, Deserialize(response, OnceHubJsonContext.Default.WebhookJson, what), what);

    private Webhook ToWebhook(RestResponse response, WebhookJson? json, string what)
    {
        if (WireFormat.Problem(json, requireSecret: false) is { } problem)
        {
            throw Malformed(response, what, problem);
        }

        WireFormat.TryParseTime(json!.CreationTime, out var created);
        return new Webhook(json.Id!, json.Name!, json.Url!, [.. json.Events!.Select(e => e!)], json.ApiVersion!, created, json.Secret);
    }

    private T Deserialize<T>(RestResponse response, JsonTypeInfo<T> type, string what)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(response.Content ?? "", type)
                ?? throw Malformed(response, what, "the body is JSON null");
        }
        catch (JsonException ex)
        {
            // The body may hold a secret: report where it broke, never what it says.
            throw Malformed(response, what, $"the body is not the expected JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})");
        }
    }

    private OnceHubApiException Malformed(RestResponse response, string what, string problem) =>
        new(new ApiError((int)response.StatusCode, ApiErrorTypes.Api, $"{what}: OnceHub's answer is malformed: {problem}"),
            requestId: RequestIdOf(response));

    private static OnceHubApiException Annotate(OnceHubApiException failure, string note) =>
        new(failure.Error with { Message = $"{failure.Error.Message}; {note}" }, failure.InnerException, failure.RequestId);

    /// <summary>A server that echoes the key back must not get it into our messages.</summary>
    private string Scrub(string text) =>
        _options.ApiKey.Length > 0 ? text.Replace(_options.ApiKey, "***", StringComparison.Ordinal) : text;

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Attempts(int attempts) => attempts == 1 ? "1 attempt made" : $"{attempts} attempts made";
}
