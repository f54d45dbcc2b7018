using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using OnceHub.Contracts.Signing;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace OnceHub.Contracts.Delivery;

/// <summary>Settings of the delivery simulation.</summary>
public sealed class DeliveryOptions
{
    /// <summary>Documented default per-attempt timeout: an answer slower than this is a failed attempt.</summary>
    public static readonly TimeSpan DefaultAttemptTimeout = TimeSpan.FromSeconds(10);

    public static string DefaultUserAgent { get; } =
        "OnceHub-Webhooks-Contracts/" + (typeof(DeliveryOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>Real-time limit for one attempt, connection and full answer included.</summary>
    public TimeSpan AttemptTimeout { get; init; } = DefaultAttemptTimeout;

    public string UserAgent { get; init; } = DefaultUserAgent;

    /// <summary>
    /// Clock used for the signature's <c>t</c>. Receivers compare <c>t</c> with their own real clock,
    /// so this stays real time even when the schedule runs on a <see cref="VirtualClock"/>.
    /// </summary>
    public TimeProvider SigningClock { get; init; } = TimeProvider.System;
}

/// <summary>
/// Posts webhook payloads the way OnceHub does: JSON content type, <c>Oncehub-Signature</c> signed
/// afresh for every attempt, a user agent, a per-attempt timeout; non-2xx, timeouts and connection
/// errors are failures, retried on <see cref="RetrySchedule"/>. One instance holds one HttpClient
/// and is safe to share between concurrent deliveries.
/// </summary>
public sealed class DeliveryEngine : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;
    private readonly ResiliencePipeline _attemptTimeout;
    private readonly DeliveryOptions _options;

    public DeliveryEngine(DeliveryOptions? options = null)
    {
        _options = options ?? new DeliveryOptions();
        if (_options.AttemptTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "the attempt timeout must be positive");
        }
        _http = new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = _options.AttemptTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AllowAutoRedirect = false, // a redirect is an answer, and not a 2xx
            UseCookies = false,
        })
        {
            // The Polly pipeline owns the limit, so HttpClient's own timeout is switched off.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
        _attemptTimeout = new ResiliencePipelineBuilder().AddTimeout(_options.AttemptTimeout).Build();
    }

    public DeliveryOptions Options => _options;

    /// <summary>
    /// One attempt with exactly the given signature header (null: no header). For crafted requests such
    /// as forged or stale signatures.
    /// </summary>
    public async Task<AttemptResult> PostAsync(Uri target, ReadOnlyMemory<byte> body, string? signature, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var status = await _attemptTimeout.ExecuteAsync(static async (state, ct) =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, state.target)
                {
                    Content = new ReadOnlyMemoryContent(state.body),
                };
                request.Content.Headers.ContentType = Json;
                if (state.signature is not null)
                {
                    request.Headers.TryAddWithoutValidation(WebhookSigner.HeaderName, state.signature);
                }
                using var response = await state.http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                // Read the answer to the end so the connection can be reused and "answered" means complete.
                await response.Content.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
                return (int)response.StatusCode;
            }, (http: _http, target, body, signature), cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            return new AttemptResult(status is >= 200 and <= 299 ? AttemptOutcome.Accepted : AttemptOutcome.Refused, status, elapsed);
        }
        catch (TimeoutRejectedException)
        {
            return new AttemptResult(AttemptOutcome.TimedOut, null, Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new AttemptResult(AttemptOutcome.Canceled, null, Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException)
        {
            // The handler's own connect timeout.
            return new AttemptResult(AttemptOutcome.TimedOut, null, Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException ex)
        {
            return new AttemptResult(AttemptOutcome.ConnectionFailed, null, Stopwatch.GetElapsedTime(started), ShortReason(ex));
        }
        catch (IOException ex)
        {
            // The connection broke while the answer was being read.
            return new AttemptResult(AttemptOutcome.ConnectionFailed, null, Stopwatch.GetElapsedTime(started), ex.GetType().Name);
        }
    }

    /// <summary>One attempt signed now (real time) with <paramref name="signer"/>.</summary>
    public Task<AttemptResult> SendAsync(Uri target, ReadOnlyMemory<byte> body, WebhookSigner signer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        return PostAsync(target, body, signer.CreateHeader(body.Span, _options.SigningClock), cancellationToken);
    }

    /// <summary>
    /// Delivers like OnceHub: attempt, and on failure retry on <see cref="RetrySchedule"/> until a 2xx
    /// or the 72 h window ends. The waits run on <paramref name="scheduleClock"/> (by default a fresh
    /// <see cref="VirtualClock"/>, so the whole schedule takes only as long as the HTTP requests); every
    /// attempt is a real request, signed afresh, with the same body and so the same event id.
    /// </summary>
    public async Task<DeliveryResult> DeliverAsync(Uri target, ReadOnlyMemory<byte> body, WebhookSigner signer,
        TimeProvider? scheduleClock = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var clock = scheduleClock ?? new VirtualClock();
        var start = clock.GetUtcNow();
        var attempts = new List<ScheduledAttempt>(RetrySchedule.AttemptCount);

        var pipeline = new ResiliencePipelineBuilder<AttemptResult> { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions<AttemptResult>
            {
                MaxRetryAttempts = RetrySchedule.AttemptCount - 1,
                ShouldHandle = static args => ValueTask.FromResult(
                    args.Outcome.Result is { Outcome: not AttemptOutcome.Accepted and not AttemptOutcome.Canceled }),
                // Polly numbers retries from 0, so retry n is attempt n + 2 of the schedule.
                DelayGenerator = static args => ValueTask.FromResult<TimeSpan?>(RetrySchedule.DelayBefore(args.AttemptNumber + 2)),
                UseJitter = false,
            })
            .Build();

        try
        {
            await pipeline.ExecuteAsync(async ct =>
            {
                var result = await SendAsync(target, body, signer, ct).ConfigureAwait(false);
                attempts.Add(new ScheduledAttempt(attempts.Count + 1, clock.GetUtcNow() - start, result));
                return result;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Canceled between attempts: what was tried so far is the answer.
        }
        return new DeliveryResult(attempts);
    }

    public void Dispose() => _http.Dispose();

    private static string ShortReason(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                return socket.SocketErrorCode.ToString();
            }
        }
        return ex is HttpRequestException http ? http.HttpRequestError.ToString() : ex.GetType().Name;
    }
}
