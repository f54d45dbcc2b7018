using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OnceHub.Account;

namespace OnceHub.Emulator;

/// <summary>
/// What every request goes through, in OnceHub's order as far as it shows: a <c>Request-Id</c> on
/// every answer, the per-address limit (before authentication, so anonymous floods are limited
/// too), the API key, then the per-account limit.
/// </summary>
internal static class EmulatorGate
{
    private const string ApiKeyHeader = ApiAuthentication.HeaderName;
    private const string RequestIdHeader = "Request-Id";

    /// <summary>Set by an endpoint that committed its work and then dropped the connection on purpose.</summary>
    public const string DroppedKey = "oncehub.dropped";

    public static void UseGate(this WebApplication app, FaultInjector faults, RequestLog log, string apiKey)
    {
        var expectedKey = Encoding.UTF8.GetBytes(apiKey);

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
                log.Add(line, outcome);
            }
            catch (AccountStoreException ex)
            {
                log.Add(line, "500");
                await ErrorAnswer.Write(ctx, new ApiError(500, ApiErrorTypes.Api, ex.Message));
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !ctx.Response.HasStarted)
            {
                // Any other failure still gets OnceHub's error JSON and this answer's Request-Id, not an empty 500.
                log.Add(line, "500");
                await ErrorAnswer.Write(ctx, new ApiError(500, ApiErrorTypes.Api, $"The emulator failed to answer: {ex.GetType().Name}"));
            }
        });

        app.Use(async (ctx, next) =>
        {
            var latency = faults.Latency;
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

            if (faults.TryTakeFailure(out var status, out var retryAfter))
            {
                if ((retryAfter ?? (status == 429 ? "1" : null)) is { } header)
                {
                    ctx.Response.Headers.RetryAfter = header;
                }

                await ErrorAnswer.Write(ctx, new ApiError(status, ApiErrorTypes.ForStatus(status), $"Injected failure: HTTP {status}"));
                return;
            }

            var address = ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
            if (!faults.TryAcquireForAddress(address, out var addressWait))
            {
                await RateLimited(ctx, addressWait);
                return;
            }

            var given = ctx.Request.Headers[ApiKeyHeader].ToString();
            if (given.Length == 0)
            {
                await ErrorAnswer.Write(ctx, new ApiError(401, ApiErrorTypes.Authentication, "No API key provided: send it in the API-Key header"));
                return;
            }

            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expectedKey))
            {
                await ErrorAnswer.Write(ctx, new ApiError(401, ApiErrorTypes.Authentication, ApiAuthentication.InvalidKeyMessage));
                return;
            }

            if (!faults.TryAcquire(out var wait))
            {
                await RateLimited(ctx, wait);
                return;
            }

            await next(ctx);
        });
    }

    /// <summary>OnceHub's 429. OnceHub documents no rate-limit headers; the emulator adds <c>Retry-After</c> as a hint.</summary>
    private static Task RateLimited(HttpContext ctx, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        ctx.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return ErrorAnswer.Write(ctx, ApiError.RateLimited());
    }
}
