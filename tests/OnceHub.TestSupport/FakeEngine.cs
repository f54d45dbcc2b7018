using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pulumirpc;

namespace OnceHub.TestSupport;

/// <summary>The engine's Log service on 127.0.0.1 (ephemeral port), recording every message.</summary>
public sealed class FakeEngine : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<LogRequest> _logs;

    private FakeEngine(WebApplication app, ConcurrentQueue<LogRequest> logs, int port)
    {
        _app = app;
        _logs = logs;
        Address = $"127.0.0.1:{port}";
    }

    /// <summary>host:port, as the engine passes it to plugins.</summary>
    public string Address { get; }

    public IReadOnlyList<LogRequest> Logs => [.. _logs];

    public static async Task<FakeEngine> StartAsync()
    {
        var logs = new ConcurrentQueue<LogRequest>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(logs);
        var app = builder.Build();
        app.MapGrpcService<EngineService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FakeEngine(app, logs, new Uri(address).Port);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class EngineService(ConcurrentQueue<LogRequest> logs) : Engine.EngineBase
    {
        public override Task<Empty> Log(LogRequest request, ServerCallContext context)
        {
            logs.Enqueue(request);
            return Task.FromResult(new Empty());
        }
    }
}
