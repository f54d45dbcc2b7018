using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace OnceHub.Webhooks;

public static class OnceHubWebhooksEndpointRouteBuilderExtensions
{
    // OnceHub retries on its own schedule whatever this says; other senders get a hint shorter than its first retry.
    private const string RetryAfterSeconds = "30";

    /// <summary>
    /// Maps <c>POST <paramref name="pattern"/></c> to OnceHub's receiving rules with the handlers
    /// <paramref name="configure"/> registers. Answers: 401 for a missing, forged, tampered or stale signature
    /// (decided from the header before the body is read); 413 for a body over the cap; 503 with Retry-After when the
    /// <see cref="UnverifiedBodyBudget"/> is spent; 200 for every authentic
    /// event (processed, duplicate, unknown type, or quarantined when it cannot be read); 409 while another
    /// delivery of the same event id is being handled; 500 when the handler throws (OnceHub retries).
    /// Needs <see cref="OnceHubWebhooksServiceCollectionExtensions.AddOnceHubWebhooks"/>.
    /// </summary>
    public static IEndpointConventionBuilder MapOnceHubWebhooks(this IEndpointRouteBuilder endpoints, string pattern, Action<OnceHubWebhookHandlers>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        var services = endpoints.ServiceProvider;
        if (services.GetService<IOptions<OnceHubWebhookOptions>>() is not { } optionsAccessor || services.GetService<IEventStore>() is not { } store)
        {
            throw new InvalidOperationException("call builder.Services.AddOnceHubWebhooks() before app.MapOnceHubWebhooks(...)");
        }
        var options = optionsAccessor.Value;
        var budget = services.GetRequiredService<UnverifiedBodyBudget>();
        var handlers = new OnceHubWebhookHandlers();
        configure?.Invoke(handlers);
        var loggers = services.GetRequiredService<ILoggerFactory>();
        var logger = loggers.CreateLogger(typeof(WebhookPipeline).FullName!);
        var secrets = handlers.Secrets ?? options.Secrets;
        var pipeline = new WebhookPipeline(new WebhookPipelineOptions
        {
            Secrets = secrets,
            Tolerance = options.Tolerance,
            Handler = handlers.Build(),
            InFlightLease = options.InFlightLease,
            MaxHandlerFailures = options.MaxHandlerFailures,
            SkipStaleEvents = options.SkipStaleEvents,
            Clock = options.Clock,
        }, store, logger);
        // Names the source and the count, never a secret.
        logger.LogInformation("OnceHub webhooks on POST {Pattern}: {SecretCount} secret(s) from {SecretsSource}, store {Store}",
            pattern, secrets.Count, handlers.Secrets is null ? options.SecretsSource ?? "code" : "the endpoint", store.GetType().Name);
        // A RequestDelegate, not a minimal-API lambda: no request-delegate generation, nothing reflected on.
        var endpoint = endpoints.MapPost(pattern, http => HandleAsync(http, pipeline, options.MaxBodyBytes, budget, handlers.Observers, logger));
        endpoint.WithDisplayName("OnceHub webhooks " + pattern);
        return endpoint;
    }

    private static async Task HandleAsync(HttpContext http, WebhookPipeline pipeline, int maxBodyBytes, UnverifiedBodyBudget budget,
        IReadOnlyList<Action<ReceiveResult>> observers, ILogger logger)
    {
        // A larger announced Content-Length is refused (413) before any byte of the body is read.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBodyBytes;
        }
        var header = http.Request.Headers.TryGetValue(WebhookSigner.HeaderName, out var h) ? h.ToString() : null;
        var result = pipeline.CheckHeader(header) ?? await ReadAndReceiveAsync(pipeline, http, header, maxBodyBytes, budget).ConfigureAwait(false);
        if (result.Outcome == ReceiveOutcome.Refused)
        {
            // Strangers can send these at will: Information, with the reason but never the header's value.
            logger.LogInformation("Refused a delivery with {StatusCode}: {Reason}", result.StatusCode, result.Message);
        }
        else if (logger.IsEnabled(LogLevel.Debug))
        {
            // Checked first: the call would box its values and allocate their array on every delivery.
            logger.LogDebug("Answered a delivery with {StatusCode} ({Outcome})", result.StatusCode, result.Outcome);
        }
        foreach (var observe in observers)
        {
            observe(result);
        }
        http.Response.StatusCode = result.StatusCode;
        if (result.StatusCode == StatusCodes.Status503ServiceUnavailable)
        {
            http.Response.Headers.RetryAfter = RetryAfterSeconds;
        }
        http.Response.ContentType = "text/plain; charset=utf-8";
        // A known length: one write with the headers instead of a chunked body and its terminator.
        var message = System.Text.Encoding.UTF8.GetBytes(result.Message);
        http.Response.ContentLength = message.Length;
        await http.Response.Body.WriteAsync(message, http.RequestAborted).ConfigureAwait(false);
    }

    private static async Task<ReceiveResult> ReadAndReceiveAsync(WebhookPipeline pipeline, HttpContext http, string? header, int limit,
        UnverifiedBodyBudget budget)
    {
        BodyReadOutcome outcome;
        BodyBuffer? body;
        try
        {
            // The raw bytes: the signature covers them exactly, so read before any parsing.
            (outcome, body) = await BodyBuffer.ReadAsync(http.Request.Body, limit, budget, http.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own limits (announced length over the cap, body cut short, too slow).
            return new ReceiveResult(ReceiveOutcome.Refused, ex.StatusCode, "unreadable body");
        }
        switch (outcome)
        {
            case BodyReadOutcome.TooLarge:
                return new ReceiveResult(ReceiveOutcome.Refused, StatusCodes.Status413PayloadTooLarge, "body too large");
            case BodyReadOutcome.OverBudget:
                return new ReceiveResult(ReceiveOutcome.Refused, StatusCodes.Status503ServiceUnavailable,
                    "too many unverified bodies are being received; retry later");
        }
        // Given back once the pipeline has answered: nothing it hands on refers to the buffer.
        using (body)
        {
            return await pipeline.ReceiveAsync(header, body!.Memory, http.RequestAborted).ConfigureAwait(false);
        }
    }
}
