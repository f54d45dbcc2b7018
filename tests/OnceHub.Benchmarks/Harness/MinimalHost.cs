using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OnceHub.Benchmarks.Harness;

/// <summary>A minimal ASP.NET Core app on 127.0.0.1 in this process, for the endpoints a figure is compared with.</summary>
public sealed class MinimalHost(WebApplication app, Uri url, IDisposable? owned = null) : IAsyncDisposable
{
    public Uri Url { get; } = url;

    /// <summary>Starts an app with the routes <paramref name="map"/> adds; <paramref name="owned"/> is disposed with it.</summary>
    public static async Task<MinimalHost> StartAsync(Action<WebApplication> map, IDisposable? owned = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new MinimalHost(app, new Uri(address), owned);
    }

    /// <summary>The floor: an endpoint at <paramref name="path"/> that reads the body and answers 200.</summary>
    public static Task<MinimalHost> BareAsync(string path) => StartAsync(app => app.MapPost(path, async (HttpContext http) =>
    {
        await http.Request.Body.CopyToAsync(Stream.Null);
        return Results.Ok();
    }));

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
        owned?.Dispose();
    }
}
