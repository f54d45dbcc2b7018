using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OnceHub.Webhooks.Tests;

/// <summary>
/// An ASP.NET Core app as a user writes it: configuration, <c>AddOnceHubWebhooks</c>, <c>MapOnceHubWebhooks</c>
/// on 127.0.0.1:0, and <c>MapHealthChecks</c>; logs captured so tests can read what the library logged.
/// </summary>
internal sealed class LibraryHost : IAsyncDisposable
{
    public const string Path = "/webhooks/oncehub";

    private readonly WebApplication _app;

    private LibraryHost(WebApplication app, LogSink logs)
    {
        _app = app;
        Logs = logs;
    }

    public Uri Url { get; private set; } = null!;

    public Uri HealthUrl => new(Url, "/health");

    public LogSink Logs { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<LibraryHost> StartAsync(IDictionary<string, string?> configuration, Action<OnceHubWebhookHandlers>? handlers = null,
        Action<IServiceCollection>? services = null, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(configuration);
        var logs = new LogSink();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        services?.Invoke(builder.Services);
        builder.Services.AddOnceHubWebhooks();
        var app = builder.Build();
        app.MapOnceHubWebhooks(Path, handlers);
        app.MapHealthChecks("/health");
        await app.StartAsync();
        var host = new LibraryHost(app, logs);
        host.Url = new Uri(new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), Path);
        return host;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Every log line the app wrote, with its level, formatted message and structured values.</summary>
internal sealed class LogSink : ILoggerProvider
{
    private readonly List<(LogLevel Level, string Category, string Message, IReadOnlyList<KeyValuePair<string, object?>> Values)> _lines = [];
    private readonly Lock _gate = new();

    public IReadOnlyList<(LogLevel Level, string Category, string Message, IReadOnlyList<KeyValuePair<string, object?>> Values)> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public string Text => string.Join('\n', Lines.Select(l => $"{l.Level} {l.Category}: {l.Message}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            lock (sink._gate)
            {
                sink._lines.Add((logLevel, category, formatter(state, exception), values));
            }
        }
    }
}
