using Grpc.Core;
using Grpc.Net.Client;
using Pulumirpc;

namespace OnceHub.Provider.Protocol;

/// <summary>
/// Sends messages to the engine's Log RPC (the engine shows them against the resource), and always to
/// stderr too. Every message passes the redactor first.
/// </summary>
public sealed class EngineLog(ILogger<EngineLog> logger, Redactor redactor) : IDisposable
{
    private readonly Lock _gate = new();
    private GrpcChannel? _channel;
    private Engine.EngineClient? _client;
    private string? _address;

    /// <summary>Points at the engine; the address comes from the command line, Handshake or Attach.</summary>
    public void Connect(string? address)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            return;
        }

        lock (_gate)
        {
            if (address == _address)
            {
                return;
            }

            _channel?.Dispose();
            var target = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
            _channel = GrpcChannel.ForAddress(target);
            _client = new Engine.EngineClient(_channel);
            _address = address;
        }

        logger.LogDebug("Engine at {Address}", address);
    }

    public Task DebugAsync(string message, string urn = "") => LogAsync(LogSeverity.Debug, message, urn);

    public Task InfoAsync(string message, string urn = "") => LogAsync(LogSeverity.Info, message, urn);

    public Task WarningAsync(string message, string urn = "") => LogAsync(LogSeverity.Warning, message, urn);

    public async Task LogAsync(LogSeverity severity, string message, string urn = "")
    {
        message = redactor.Redact(message);
        logger.Log(severity switch
        {
            LogSeverity.Error => LogLevel.Error,
            LogSeverity.Warning => LogLevel.Warning,
            LogSeverity.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        }, "{Message}", message);

        Engine.EngineClient? client;
        lock (_gate)
        {
            client = _client;
        }

        if (client is null)
        {
            return;
        }

        try
        {
            await client.LogAsync(new LogRequest { Severity = severity, Message = message, Urn = urn },
                deadline: DateTime.UtcNow.AddSeconds(5));
        }
        catch (RpcException e)
        {
            // Logging must never fail an operation; the message already went to stderr.
            logger.LogDebug("The engine did not take a log message: {Status}", e.StatusCode);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _channel?.Dispose();
            _channel = null;
            _client = null;
        }
    }
}
