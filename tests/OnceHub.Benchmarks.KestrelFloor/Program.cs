using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
#if FLOOR_GRPC
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Pulumirpc;
#endif

// Starts the way the plugin starts (empty host, Kestrel on 127.0.0.1:0, plaintext HTTP/2, port as the
// only stdout line). The default build (bare) has nothing else: no gRPC, no services, no logging.
var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
builder.WebHost.UseKestrelCore();
builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
#if FLOOR_GRPC
builder.Services.AddRoutingCore();
builder.Services.AddGrpc();
#endif

var app = builder.Build();
#if FLOOR_GRPC
app.MapGrpcService<LogService>();
#else
app.Run(context =>
{
    context.Response.StatusCode = StatusCodes.Status204NoContent;
    return Task.CompletedTask;
});
#endif

await app.StartAsync();

var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.Out.WriteLine(new Uri(address).Port);
Console.Out.Flush();

await app.WaitForShutdownAsync();

#if FLOOR_GRPC
internal sealed class LogService : Engine.EngineBase
{
    public override Task<Empty> Log(LogRequest request, ServerCallContext context) => Task.FromResult(new Empty());
}
#endif
