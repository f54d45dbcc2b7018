using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OnceHub.Account;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>A stand-in webhook receiver on 127.0.0.1:0 whose answer depends on how many requests came before.</summary>
internal sealed class StandInReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _count;

    private StandInReceiver(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>Every request: path, signature header, event id, and the status answered.</summary>
    public ConcurrentQueue<(string Path, string? Signature, byte[] Body, string EventId, int Status)> Requests { get; } = new();

    public int Count => Volatile.Read(ref _count);

    /// <summary>Every request as it arrived (path, event id), answered or not yet.</summary>
    public ConcurrentQueue<(string Path, string EventId)> Arrived { get; } = new();

    /// <param name="status">Given the 1-based number of the request, the status to answer.</param>
    /// <param name="answer">A text body for every answer; none when null.</param>
    public static Task<StandInReceiver> StartAsync(Func<int, int> status, string? answer = null) =>
        StartAsync(n => Task.FromResult(status(n)), answer);

    /// <param name="status">Given the 1-based number of the request, the status to answer, when it is ready.</param>
    /// <param name="answer">A text body for every answer; none when null.</param>
    public static async Task<StandInReceiver> StartAsync(Func<int, Task<int>> status, string? answer = null)
    {
        var text = answer;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var self = new StandInReceiver(app);
        app.Run(async http =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            var body = buffer.ToArray();
            var number = Interlocked.Increment(ref self._count);
            string eventId;
            using (var doc = JsonDocument.Parse(body))
            {
                eventId = doc.RootElement.GetProperty("id").GetString()!;
            }
            self.Arrived.Enqueue((http.Request.Path, eventId));
            var answer = await status(number);
            self.Requests.Enqueue((http.Request.Path, http.Request.Headers[WebhookSigner.HeaderName].ToString(), body, eventId, answer));
            http.Response.StatusCode = answer;
            if (text is not null)
            {
                await http.Response.WriteAsync(text, http.RequestAborted);
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self.Url = new Uri(address);
        return self;
    }

    public string UrlFor(string path) => new Uri(Url, path).ToString();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A local account in a temporary folder, deleted afterwards.</summary>
internal sealed class TempAccount : IDisposable
{
    public TempAccount()
    {
        Folder = Directory.CreateTempSubdirectory("oncehub-local-").FullName;
        Webhooks = new FileAccountStore(Folder, new AccountStoreOptions { AllowInsecureUrls = true });
    }

    public string Folder { get; }

    public FileAccountStore Webhooks { get; }

    public StoredWebhook Add(string name, string url, params string[] events)
    {
        var created = Webhooks.Create(name, url, events);
        Assert.True(created.IsSuccess, created.Error?.Message);
        return created.Value!;
    }

    public LocalDeliverer Deliverer(LocalDeliveryOptions options) => LocalDeliverer.OpenFolder(Folder, options);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder must not fail a test.
        }
    }
}

/// <summary>The CLI in process, its output and error captured.</summary>
internal static class Cli
{
    public static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await new OnceHub.Contracts.Cli.CliApp(output, error).RunAsync(args);
        return (exit, output.ToString(), error.ToString());
    }
}
