using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Console;
using OnceHub.Api;
using OnceHub.Provider.Protocol;
using OnceHub.Provider.Resources;

namespace OnceHub.Provider;

/// <summary>How to run the plugin: the engine's command line, and what it would otherwise read from its process.</summary>
public sealed record ProviderHostOptions
{
    public required CommandLine CommandLine { get; init; }

    /// <summary>The folder relative <c>file:</c> accounts resolve against; the current directory by default.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Environment variables; the process's by default.</summary>
    public Func<string, string?>? Environment { get; init; }

    /// <summary>Where logs go instead of stderr (a test host collects them); null for the engine's stderr rules.</summary>
    public Action<ILoggingBuilder>? Logging { get; init; }
}

/// <summary>
/// The plugin's one setup: Kestrel on 127.0.0.1, port 0, plaintext HTTP/2, the provider's gRPC service
/// and what it needs. The executable and the in-process test host both build it here.
/// </summary>
public static class ProviderHost
{
    public static WebApplication Build(ProviderHostOptions options)
    {
        var commandLine = options.CommandLine;

        // The empty builder reads no configuration files: the engine starts plugins in the project folder,
        // and a reloadable appsettings source would watch every directory below it, which dominated cold
        // start. No args to the host either: the engine's flags are not ASP.NET configuration.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();

        if (options.Logging is not null)
        {
            options.Logging(builder.Logging);
        }
        else if (commandLine.Verbosity > 0 || commandLine.LogToStderr)
        {
            // Users see the provider's messages through the engine's Log RPC; stderr logging, whose console
            // logger costs start-up time, is there when the engine asks for it (-v, --logtostderr).
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }

        builder.Logging.SetMinimumLevel(commandLine.MinimumLevel);
        builder.Logging.AddFilter("Microsoft", commandLine.MinimumLevel < LogLevel.Warning ? LogLevel.Information : LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", commandLine.MinimumLevel < LogLevel.Warning ? LogLevel.Information : LogLevel.Warning);

        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

        builder.Services.AddGrpc(o => o.EnableDetailedErrors = false);
        builder.Services.AddSingleton(new ProviderEnvironment(
            options.WorkingDirectory ?? Directory.GetCurrentDirectory(), options.Environment ?? System.Environment.GetEnvironmentVariable));
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
        return app;
    }

    /// <summary>Starts listening; returns the port, the one line the engine reads from the plugin's stdout.</summary>
    public static async Task<int> StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Uri(address).Port;
    }

    /// <summary>Points the provider's logs at the engine's Log service.</summary>
    public static void ConnectEngine(WebApplication app, string? engineAddress) =>
        app.Services.GetRequiredService<EngineLog>().Connect(engineAddress);
}
