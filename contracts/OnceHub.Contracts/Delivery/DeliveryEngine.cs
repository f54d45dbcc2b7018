using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using OnceHub.Webhooks;
using Polly;
using Polly.Timeout;

namespace OnceHub.Contracts.Delivery;

/// <summary>Settings of the delivery simulation.</summary>
public sealed class DeliveryOptions
{
    /// <summary>
    /// Per-attempt timeout when none is given. OnceHub documents no per-attempt timeout: this one is an
    /// assumption, configurable, chosen so that a receiver answering within it is safe with any sender.
    /// </summary>
    public static readonly TimeSpan DefaultAttemptTimeout = TimeSpan.FromSeconds(10);

    public static string DefaultUserAgent { get; } =
        "OnceHub-Webhooks-Contracts/" + (typeof(DeliveryOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>Real-time limit for one attempt, connection and full answer included (an assumption; see above).</summary>
    public TimeSpan AttemptTimeout { get; init; } = DefaultAttemptTimeout;

    public string UserAgent { get; init; } = DefaultUserAgent;

    /// <summary>
    /// Clock used for the signature's <c>t</c>. Receivers compare <c>t</c> with their own real clock,
    /// so this stays real time even when the schedule runs on a <see cref="VirtualClock"/>.
    /// </summary>
    public TimeProvider SigningClock { get; init; } = TimeProvider.System;

    /// <summary>
    /// Clock of the retry schedule's waits when a delivery names none. Real time here means real
    /// waits of up to 6 h; the suite gives each delivery its own <see cref="VirtualClock"/> instead.
    /// </summary>
    public TimeProvider ScheduleClock { get; init; } = TimeProvider.System;

    /// <summary>At most this many requests in flight at once (null: no limit). Queued time is not attempt time.</summary>
    public int? MaxConcurrentRequests { get; init; }

    /// <summary>
    /// Once this many attempts in a row to one receiver (origin) timed out, later attempts to it are not sent: they
    /// end at once as timeouts whose evidence says so, so a receiver that never answers is judged in a few timeouts
    /// instead of one per request (null: every attempt is sent). An answer of any status starts the count again.
    /// </summary>
    public int? StopAfterTimeoutsInARow { get; init; }

    /// <summary>
    /// Receives each attempt, request and answer, as a few lines of text (verbose mode). The signature's
    /// <c>s=</c> is redacted: a valid signature could be replayed within the receiver's tolerance.
    /// </summary>
    public Action<string>? Trace { get; init; }
}

/// <summary>
/// Posts webhook payloads the way OnceHub does: JSON content type, <c>Oncehub-Signature</c> signed
/// afresh for every attempt, a user agent, a per-attempt timeout; non-2xx, timeouts and connection
/// errors are failures, retried on <see cref="RetrySchedule"/>. One instance holds its connections and
/// its schedule pipeline and is safe to share between concurrent deliveries.
/// </summary>
/// <remarks>
/// Connections are kept alive where the receiver allows it, like any sender. The first request to an
/// origin goes out on a connection of its own and its answer decides: HTTP/1.1 without
/// <c>Connection: close</c> means later requests share pooled connections; HTTP/1.0 without
/// <c>Connection: keep-alive</c>, or <c>Connection: close</c>, means the receiver closes after each
/// answer, so every request gets a new connection. Requests to an undecided origin wait for that
/// first answer: a pooled request queued meanwhile would open a spare connection that a
/// single-threaded receiver would then serve first and wait on. A request that went out on a reused
/// connection and got no byte back (the receiver closed the idle connection as the request left) is
/// sent once more on a new connection: that failure is the sender's, not the receiver's.
/// </remarks>
public sealed class DeliveryEngine : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _pooled;
    private readonly HttpClient _fresh;
    private readonly ResiliencePipeline _attemptTimeout;
    private readonly ResiliencePipeline<AttemptResult> _schedule;
    private readonly SemaphoreSlim? _inFlight;
    private readonly DeliveryOptions _options;
    // Per origin (scheme, host, port): whether its connections may be reused, once its first answer says.
    private readonly ConcurrentDictionary<string, Task<bool>> _reusable = new(StringComparer.OrdinalIgnoreCase);
    // Per origin: how many attempts in a row timed out (see DeliveryOptions.StopAfterTimeoutsInARow).
    private readonly ConcurrentDictionary<string, int> _timeoutsInARow = new(StringComparer.OrdinalIgnoreCase);

    public DeliveryEngine(DeliveryOptions? options = null)
    {
        _options = options ?? new DeliveryOptions();
        if (_options.AttemptTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "the attempt timeout must be positive");
        }
        if (_options.StopAfterTimeoutsInARow is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "the timeouts in a row before giving up must be at least 1");
        }
        if (_options.MaxConcurrentRequests is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "at least one request must be allowed in flight");
        }
        _pooled = NewClient(new SocketsHttpHandler
        {
            ConnectTimeout = _options.AttemptTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = TrackedStream.ConnectAsync,
            AllowAutoRedirect = false, // a redirect is an answer, and not a 2xx
            UseCookies = false,
        });
        _fresh = NewClient(new SocketsHttpHandler
        {
            ConnectTimeout = _options.AttemptTimeout,
            // Zero lifetime: a connection is never returned to the pool, so every request gets its own.
            PooledConnectionLifetime = TimeSpan.Zero,
            AllowAutoRedirect = false,
            UseCookies = false,
        });
        _attemptTimeout = new ResiliencePipelineBuilder().AddTimeout(_options.AttemptTimeout).Build();
        _schedule = new ResiliencePipelineBuilder<AttemptResult> { TimeProvider = _options.ScheduleClock }
            .AddOnceHubRetrySchedule(new OnceHubRetryScheduleOptions<AttemptResult>
            {
                ShouldRetry = static outcome => outcome.Result is { Outcome: not AttemptOutcome.Accepted and not AttemptOutcome.Canceled },
            })
            .Build();
        _inFlight = _options.MaxConcurrentRequests is { } max ? new SemaphoreSlim(max, max) : null;
    }

    private HttpClient NewClient(SocketsHttpHandler handler)
    {
        // The Polly pipeline owns the limit, so HttpClient's own timeout is switched off.
        var client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
        return client;
    }

    public DeliveryOptions Options => _options;

    /// <summary>The schedule's retry pipeline, built once per engine.</summary>
    public ResiliencePipeline<AttemptResult> SchedulePipeline => _schedule;

    /// <summary>
    /// One attempt with exactly the given signature header (null: no header). For crafted requests such
    /// as forged or stale signatures.
    /// </summary>
    public Task<AttemptResult> PostAsync(Uri target, ReadOnlyMemory<byte> body, string? signature, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        // Without a limit the attempt is the whole call: no async frame of its own for every request.
        return _inFlight is null ? AttemptAsync(target, body, signature, cancellationToken) : LimitedAsync(target, body, signature, cancellationToken);
    }

    private async Task<AttemptResult> LimitedAsync(Uri target, ReadOnlyMemory<byte> body, string? signature, CancellationToken cancellationToken)
    {
        try
        {
            await _inFlight!.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new AttemptResult(AttemptOutcome.Canceled, null, TimeSpan.Zero);
        }
        try
        {
            return await AttemptAsync(target, body, signature, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _inFlight.Release();
        }
    }

    /// <summary>What one attempt carries through the timeout pipeline (a state argument: no closure per attempt).</summary>
    private sealed class Attempt(DeliveryEngine engine, Uri target, ReadOnlyMemory<byte> body, string? signature, long started)
    {
        public DeliveryEngine Engine { get; } = engine;

        public Uri Target { get; } = target;

        public ReadOnlyMemory<byte> Body { get; } = body;

        public string? Signature { get; } = signature;

        public long Started { get; } = started;

        public AttemptTrace Trace { get; } = new();

        public bool SentOnNewConnection { get; set; }
    }

    private async Task<AttemptResult> AttemptAsync(Uri target, ReadOnlyMemory<byte> body, string? signature, CancellationToken cancellationToken)
    {
        var origin = _options.StopAfterTimeoutsInARow is null ? null : target.GetLeftPart(UriPartial.Authority);
        if (origin is not null && _timeoutsInARow.TryGetValue(origin, out var timedOut) && timedOut >= _options.StopAfterTimeoutsInARow)
        {
            var skipped = new AttemptResult(AttemptOutcome.TimedOut, null, TimeSpan.Zero,
                $"not sent: {timedOut} attempts in a row to this receiver timed out, so no more are waited on");
            _options.Trace?.Invoke($"- POST {Suite.ContractSuite.DisplayTarget(target)} {skipped.Error}");
            return skipped;
        }
        var attempt = new Attempt(this, target, body, signature, Stopwatch.GetTimestamp());
        AttemptResult result;
        try
        {
            result = await _attemptTimeout.ExecuteAsync(
                static (state, ct) => new ValueTask<AttemptResult>(state.Engine.SendAsync(state, ct)), attempt, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutRejectedException)
        {
            result = new AttemptResult(AttemptOutcome.TimedOut, null, Stopwatch.GetElapsedTime(attempt.Started));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            result = new AttemptResult(AttemptOutcome.Canceled, null, Stopwatch.GetElapsedTime(attempt.Started));
        }
        catch (OperationCanceledException)
        {
            // The handler's own connect timeout.
            result = new AttemptResult(AttemptOutcome.TimedOut, null, Stopwatch.GetElapsedTime(attempt.Started), "no connection within the timeout");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            result = new AttemptResult(AttemptOutcome.ConnectionFailed, null, Stopwatch.GetElapsedTime(attempt.Started), TransportErrors.Describe(ex, attempt.Trace));
        }
        if (origin is not null && result.Outcome != AttemptOutcome.Canceled)
        {
            _timeoutsInARow.AddOrUpdate(origin, result.Outcome == AttemptOutcome.TimedOut ? 1 : 0,
                (_, n) => result.Outcome == AttemptOutcome.TimedOut ? n + 1 : 0);
        }
        _options.Trace?.Invoke(TraceText(target, body.Length, signature, result, attempt.SentOnNewConnection));
        return result;
    }

    /// <summary>
    /// Sends on the connection the origin's first answer allows; a request that went out on a reused connection
    /// and got no byte back goes once more on a new connection.
    /// </summary>
    private async Task<AttemptResult> SendAsync(Attempt attempt, CancellationToken ct)
    {
        var origin = attempt.Target.GetLeftPart(UriPartial.Authority);
        var fresh = false;
        TaskCompletionSource<bool>? probe = null;
        if (_reusable.TryGetValue(origin, out var known) && known.IsCompletedSuccessfully)
        {
            // The usual case once an origin's first answer came: no probe to set up.
            fresh = !known.Result;
        }
        else
        {
            var mine = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var decided = _reusable.GetOrAdd(origin, mine.Task);
            if (ReferenceEquals(decided, mine.Task))
            {
                probe = mine;
            }
            else
            {
                fresh = !await decided.WaitAsync(ct).ConfigureAwait(false);
            }
        }
        try
        {
            return await SendOnceAsync(attempt, attempt.Trace, fresh, probe, ct).ConfigureAwait(false);
        }
        catch when (probe is not null)
        {
            // No answer to learn from: the waiting requests take new connections (always safe) and the
            // next request to this origin asks again. (A probe's connection is new: never the case below.)
            _reusable.TryRemove(new KeyValuePair<string, Task<bool>>(origin, probe.Task));
            probe.TrySetResult(false);
            throw;
        }
        catch (Exception ex) when ((ex is HttpRequestException || ex is IOException) && attempt.Trace.FailedUnansweredOnReusedConnection)
        {
            attempt.SentOnNewConnection = true;
            return await SendOnceAsync(attempt, new AttemptTrace(), fresh: true, probe: null, ct).ConfigureAwait(false);
        }
    }

    private async Task<AttemptResult> SendOnceAsync(Attempt attempt, AttemptTrace trace, bool fresh, TaskCompletionSource<bool>? probe, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, attempt.Target) { Content = new ReadOnlyMemoryContent(attempt.Body) };
        request.Content.Headers.ContentType = Json;
        if (attempt.Signature is not null)
        {
            request.Headers.TryAddWithoutValidation(WebhookSigner.HeaderName, attempt.Signature);
        }
        if (fresh)
        {
            // Said out loud, so the receiver need not wait to see whether another request follows.
            request.Headers.ConnectionClose = true;
        }
        AttemptTrace.Current = trace;
        // The probe goes out on a connection of its own (never pooled) but without "Connection: close",
        // so that the answer tells what the receiver does with connections.
        using var response = await (fresh || probe is not null ? _fresh : _pooled)
            .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        probe?.TrySetResult(KeepsAlive(response));
        // Read the answer to the end, so "answered" means complete and the connection can be reused;
        // keep its first bytes as evidence. The content stream exists once the headers are in.
        var stream = response.Content.ReadAsStream(ct);
        await using (stream.ConfigureAwait(false))
        {
            var head = ArrayPool<byte>.Shared.Rent(AttemptResult.BodyExcerptBytes + 1);
            try
            {
                var filled = 0;
                var read = 1;
                while (filled <= AttemptResult.BodyExcerptBytes && (read = await stream.ReadAsync(head.AsMemory(filled, AttemptResult.BodyExcerptBytes + 1 - filled), ct).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                }
                if (read > 0)
                {
                    await stream.CopyToAsync(Stream.Null, ct).ConfigureAwait(false);
                }
                var status = (int)response.StatusCode;
                return new AttemptResult(status is >= 200 and <= 299 ? AttemptOutcome.Accepted : AttemptOutcome.Refused, status,
                    Stopwatch.GetElapsedTime(attempt.Started), Body: filled == 0 ? null : AttemptResult.Excerpt(head.AsSpan(0, filled), false),
                    // Only the verbose trace prints them: building the text for every attempt cost a fan-out time.
                    Headers: _options.Trace is null ? null : Headers(response));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(head);
            }
        }
    }

    /// <summary>HTTP/1.1 keeps a connection unless it says close; HTTP/1.0 closes it unless it says keep-alive.</summary>
    private static bool KeepsAlive(HttpResponseMessage response) =>
        response.Headers.ConnectionClose != true
        && (response.Version != HttpVersion.Version10
            || response.Headers.Connection.Any(c => c.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)));

    private static string Headers(HttpResponseMessage response)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"HTTP/{response.Version} {(int)response.StatusCode} {response.ReasonPhrase}");
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            sb.Append('\n').Append(name).Append(": ").AppendJoin(", ", values);
        }
        return sb.ToString();
    }

    private string TraceText(Uri target, int bodyLength, string? signature, AttemptResult result, bool sentOnNewConnection)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"> POST {Suite.ContractSuite.DisplayTarget(target)}\n");
        sb.Append("> Content-Type: application/json\n");
        sb.Append(CultureInfo.InvariantCulture, $"> User-Agent: {_options.UserAgent}\n");
        if (signature is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"> {WebhookSigner.HeaderName}: {RedactSignature(signature)}\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"> ({bodyLength} bytes of JSON)\n");
        if (sentOnNewConnection)
        {
            sb.Append("  (the reused connection closed before answering; sent again on a new connection)\n");
        }
        if (result.Headers is { } headers)
        {
            sb.AppendJoin('\n', headers.Split('\n').Select(l => "< " + l)).Append('\n');
        }
        sb.Append(CultureInfo.InvariantCulture, $"< {result.Evidence()}");
        return sb.ToString();
    }

    /// <summary>The signature header with every <c>s=</c> value replaced: <c>t</c> stays readable.</summary>
    public static string RedactSignature(string header)
    {
        var parts = header.Split(',');
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].TrimStart().StartsWith("s=", StringComparison.Ordinal))
            {
                parts[i] = parts[i][..(parts[i].IndexOf('=', StringComparison.Ordinal) + 1)] + "<redacted>";
            }
        }
        return string.Join(',', parts);
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
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RetryScheduleBuilderExtensions.ScheduleClock, clock);
        try
        {
            await _schedule.ExecuteAsync(async (ctx, _) =>
            {
                var result = await SendAsync(target, body, signer, ctx.CancellationToken).ConfigureAwait(false);
                attempts.Add(new ScheduledAttempt(attempts.Count + 1, clock.GetUtcNow() - start, result));
                return result;
            }, context, 0).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Canceled between attempts: what was tried so far is the answer.
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
        return new DeliveryResult(attempts);
    }

    public void Dispose()
    {
        _pooled.Dispose();
        _fresh.Dispose();
        _inFlight?.Dispose();
    }
}
