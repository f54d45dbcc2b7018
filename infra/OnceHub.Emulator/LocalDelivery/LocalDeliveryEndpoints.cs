using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OnceHub.Account;
using OnceHub.LocalDelivery;

namespace OnceHub.Emulator.LocalDelivery;

/// <summary>
/// The emulator's side of the local delivery: a trigger route outside <c>/v2</c> (the API returns no secrets on
/// reads, so the emulator signs and delivers itself) and, with <see cref="EmulatorDeliverySettings.Deliver"/>, a
/// background loop sending every due retry of the account. The queue and log live in the account folder
/// (<c>--data</c>), so the CLI's <c>deliveries</c> reads them; an in-memory account gets a temporary folder that
/// goes with the process.
/// </summary>
public static class LocalDeliveryEndpoints
{
    /// <summary>Maps the routes and ties the delivery loop to the app's lifetime. Call before the app starts.</summary>
    public static WebApplication MapLocalDelivery(this WebApplication app, IAccountStore account, string apiKey, EmulatorDeliverySettings? settings)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(account);
        settings ??= new EmulatorDeliverySettings();
        var temporary = account is FileAccountStore ? null : Directory.CreateTempSubdirectory("oncehub-emulator-").FullName;
        var folder = account is FileAccountStore file ? file.Directory : temporary!;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("OnceHub.Emulator.LocalDelivery");
        var options = new LocalDeliveryOptions
        {
            Time = settings.Time,
            FollowAccountClock = settings.FollowAccountClock,
            OnError = message => logger.LogWarning("local delivery: {Message}", message),
        };
        DeliveryStore store;
        try
        {
            store = new DeliveryStore(folder);
        }
        catch (LocalDeliveryException ex)
        {
            // The emulator reports I/O problems at start as one line.
            throw new IOException(ex.Message, ex);
        }
        var deliverer = new LocalDeliverer(account, store, settings.AttemptTimeout is { } t ? options with { AttemptTimeout = t } : options);
        var expectedKey = Encoding.UTF8.GetBytes(apiKey);

        var routes = app.MapGroup(LocalDeliveryRoutes.Events);
        routes.AddEndpointFilter(async (context, next) =>
            // The API's key guards these routes too: a trigger makes the emulator sign with the webhooks' secrets.
            CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(context.HttpContext.Request.Headers[ApiAuthentication.HeaderName].ToString()), expectedKey)
                ? await next(context)
                : Error(401, ApiErrorTypes.Authentication, ApiAuthentication.InvalidKeyMessage, null));
        // Typed as a Delegate: a lambda of HttpContext alone would bind as a RequestDelegate and drop the IResult.
        routes.MapPost("", (Func<HttpContext, Task<IResult>>)(ctx => TriggerAsync(ctx, deliverer)));
        routes.MapGet("/{eventId}", (string eventId) =>
            Results.Json(EventStateJson.From(eventId, store.Deliveries(eventId)), LocalDeliveryJsonContext.Default.EventStateJson));

        var loop = Task.CompletedTask;
        var stop = new CancellationTokenSource();
        if (settings.Deliver)
        {
            app.Lifetime.ApplicationStarted.Register(() => loop = Task.Run(() => deliverer.RunAsync(null, stop.Token)));
        }
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            stop.Cancel();
            // Attempts in flight end as canceled and give their deliveries back; nothing is lost if this times out.
            loop.Wait(TimeSpan.FromSeconds(5));
        });
        app.Lifetime.ApplicationStopped.Register(() =>
        {
            deliverer.Dispose();
            store.Dispose();
            stop.Dispose();
            if (temporary is not null)
            {
                try
                {
                    Directory.Delete(temporary, recursive: true);
                }
                catch (IOException)
                {
                    // A temporary folder left behind holds no secret (payloads only) and is cleaned by the OS.
                }
            }
        });
        return app;
    }

    private static async Task<IResult> TriggerAsync(HttpContext ctx, LocalDeliverer deliverer)
    {
        TriggerRequestJson? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(ctx.Request.Body, LocalDeliveryJsonContext.Default.TriggerRequestJson, ctx.RequestAborted);
        }
        catch (JsonException ex)
        {
            return Error(400, ApiErrorTypes.InvalidRequest, $"The body is not valid JSON: {ex.Message}", null);
        }
        if (request?.Event is not { } name || !OnceHub.Events.EventCatalog.IsDeliverable(name))
        {
            return Error(400, ApiErrorTypes.InvalidRequest, $"event must be one of {string.Join(", ", OnceHub.Events.EventCatalog.Specific.Select(e => e.Name))}", "event");
        }
        var overrides = new List<PayloadOverride>();
        foreach (var text in request.Set ?? [])
        {
            if (!PayloadOverride.TryParse(text ?? "", out var o, out var problem))
            {
                return Error(400, ApiErrorTypes.InvalidRequest, problem!, "set");
            }
            overrides.Add(o!);
        }
        try
        {
            var result = await deliverer.TriggerAsync(name, overrides, ctx.RequestAborted);
            return Results.Json(FanOutJson.From(result), LocalDeliveryJsonContext.Default.FanOutJson);
        }
        catch (PayloadOverrideException ex)
        {
            return Error(400, ApiErrorTypes.InvalidRequest, ex.Message, "set");
        }
    }

    private static IResult Error(int status, string type, string message, string? param) =>
        Results.Json(new ErrorJson { Type = type, Message = message, Param = param }, OnceHubJsonContext.Writer.ErrorJson, statusCode: status);
}
