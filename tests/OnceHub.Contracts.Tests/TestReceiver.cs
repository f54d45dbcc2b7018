using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

/// <summary>A deliberately configurable local receiver on 127.0.0.1:0 for testing the engine and the suite.</summary>
internal sealed class TestReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestReceiver(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    /// <summary>How many connections the receiver has accepted.</summary>
    public int Connections => Volatile.Read(ref _connections);

    private int _connections;

    /// <summary>Every request: its signature header (null when absent) and raw body.</summary>
    public ConcurrentQueue<(string? Signature, byte[] Body, string? UserAgent, string? ContentType)> Requests { get; } = new();

    /// <param name="respond">Given the request and its raw body, the status to answer (awaited, so it may hang).</param>
    public static async Task<TestReceiver> StartAsync(Func<HttpContext, byte[], Task<int>> respond)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        TestReceiver? self = null;
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Use(next => connection =>
        {
            Interlocked.Increment(ref self!._connections);
            return next(connection);
        })));
        var app = builder.Build();
        app.Run(async http =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            var body = buffer.ToArray();
            var header = http.Request.Headers.TryGetValue(WebhookSigner.HeaderName, out var h) ? h.ToString() : null;
            self!.Requests.Enqueue((header, body, http.Request.Headers.UserAgent.ToString(), http.Request.ContentType));
            var status = await respond(http, body);
            if (!http.Response.HasStarted)
            {
                http.Response.StatusCode = status;
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new TestReceiver(app, new Uri(new Uri(address), "/hook"));
        return self;
    }

    /// <summary>Verifies like a correct receiver: 401 for a bad signature, otherwise <paramref name="whenValid"/>.</summary>
    public static Task<TestReceiver> VerifyingAsync(string secret, Func<string, int> whenValid, int whenInvalid = 401)
    {
        var verifier = new SignatureVerifier(secret);
        return StartAsync((http, body) =>
        {
            var check = verifier.Verify(http.Request.Headers[WebhookSigner.HeaderName].ToString(), body);
            return Task.FromResult(check.IsValid ? whenValid(EventId(body)) : whenInvalid);
        });
    }

    public static string EventId(byte[] body)
    {
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("id").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
