using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Console;
using OnceHub.Api;
using OnceHub.Provider.Protocol;
using OnceHub.Provider.Resources;

// The engine runs: pulumi-resource-oncehub [flags...] <engine address>, and reads the port from stdout.
var commandLine = CommandLine.Parse(args);

// The empty builder reads no configuration files: the engine starts plugins in the project folder,
// and a reloadable appsettings source would watch every directory below it, which dominated cold
// start. No args to the host either: the engine's flags are not ASP.NET configuration.
var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
builder.WebHost.UseKestrelCore();
builder.Services.AddRoutingCore();

// Users see the provider's messages through the engine's Log RPC; stderr logging, whose console
// logger costs start-up time, is there when the engine asks for it (-v, --logtostderr).
if (commandLine.Verbosity > 0 || commandLine.LogToStderr)
{
    builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
    builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
}

builder.Logging.SetMinimumLevel(commandLine.MinimumLevel);
builder.Logging.AddFilter("Microsoft", commandLine.MinimumLevel < LogLevel.Warning ? LogLevel.Information : LogLevel.Warning);
builder.Logging.AddFilter("Grpc", commandLine.MinimumLevel < LogLevel.Warning ? LogLevel.Information : LogLevel.Warning);

builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

builder.Services.AddGrpc(o => o.EnableDetailedErrors = false);
builder.Services.AddSingleton<Redactor>();
builder.Services.AddSingleton<EngineLog>();
builder.Services.AddSingleton<WebhookResource>();
builder.Services.AddSingleton<WebhookApiFactory>(services =>
{
    var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("OnceHub.Api");
    var redactor = services.GetRequiredService<Redactor>();
    return settings => OnceHubClient.Create(
        new OnceHubClientOptions
        {
            BaseUrl = settings.ApiUrl,
            // A file: account checks no key; the options still want one.
            ApiKey = settings.ApiKey ?? "local-account",
            AllowInsecureUrls = settings.AllowInsecureUrls,
        },
        line => logger.LogInformation("{Line}", redactor.Redact(line)));
});
builder.Services.AddSingleton<ResourceProviderService>();

var app = builder.Build();
app.MapGrpcService<ResourceProviderService>();

await app.StartAsync();

var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.Out.WriteLine(new Uri(address).Port);
Console.Out.Flush();

app.Services.GetRequiredService<EngineLog>().Connect(commandLine.EngineAddress);

await app.WaitForShutdownAsync();
