using System.Net;
using System.Net.Sockets;
using System.Text;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

/// <summary>
/// A receiver written on a bare <see cref="TcpListener"/>, for connection behaviours that Kestrel never
/// shows: one connection served at a time, answers in HTTP/1.0, connections closed after an answer or
/// when idle. It verifies signatures like a correct receiver (2xx for a valid one, 401 otherwise).
/// </summary>
public sealed class RawReceiver : IAsyncDisposable
{
    /// <summary>How the receiver treats its connections.</summary>
    public enum Style
    {
        /// <summary>Answers "HTTP/1.0" without keep-alive and closes after each answer, like Python's http.server.</summary>
        Http10CloseAfterAnswer,
        /// <summary>HTTP/1.1 keep-alive, but closes a connection idle for 20 ms after an answer.</summary>
        ClosesIdleAfter20Ms,
        /// <summary>HTTP/1.1 with "Connection: close" on every answer, then closes.</summary>
        ConnectionCloseHeader,
        /// <summary>HTTP/1.1 keep-alive, but a connection's second request is read and the connection closed unanswered.</summary>
        DropsSecondRequestOnAConnection,
    }

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Style _style;
    private readonly SignatureVerifier _verifier;
    private readonly TimeSpan _answerDelay;
    private int _requests;
    private int _connections;

    public RawReceiver(Style style, string secret, TimeSpan answerDelay = default)
    {
        _style = style;
        _verifier = new SignatureVerifier(secret);
        _answerDelay = answerDelay;
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/hook");
        _loop = Task.Run(LoopAsync);
    }

    public Uri Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    public int Connections => Volatile.Read(ref _connections);

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _connections);
            // One connection at a time, like a single-threaded server: the next waits in the backlog.
            using (client)
            {
                try
                {
                    await ServeAsync(client.GetStream());
                }
                catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
                {
                    // The peer went away; the next connection is served.
                }
            }
        }
    }

    private async Task ServeAsync(NetworkStream stream)
    {
        var reader = new BufferedReader(stream);
        for (var served = 0; ; served++)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            // The keep-alive limit, between requests; a new connection gets its first request's time.
            if (_style == Style.ClosesIdleAfter20Ms && served > 0)
            {
                idle.CancelAfter(TimeSpan.FromMilliseconds(20));
            }
            string? requestLine;
            try
            {
                requestLine = await reader.ReadLineAsync(idle.Token);
            }
            catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
            {
                return; // idle too long: close, as many servers and proxies do
            }
            if (requestLine is null)
            {
                return;
            }
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            string? line;
            while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync(_stop.Token)))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
            var body = await reader.ReadExactlyAsync(int.Parse(headers.GetValueOrDefault("Content-Length", "0"), System.Globalization.CultureInfo.InvariantCulture), _stop.Token);
            Interlocked.Increment(ref _requests);
            if (_style == Style.DropsSecondRequestOnAConnection && served == 1)
            {
                return;
            }
            if (_answerDelay > TimeSpan.Zero)
            {
                await Task.Delay(_answerDelay, _stop.Token);
            }
            var valid = _verifier.Verify(headers.GetValueOrDefault(WebhookSigner.HeaderName), body).IsValid;
            var answer = valid ? "{\"ok\":true}" : "{\"error\":\"bad signature\"}";
            var (version, connection) = _style switch
            {
                Style.Http10CloseAfterAnswer => ("HTTP/1.0", ""),
                Style.ConnectionCloseHeader => ("HTTP/1.1", "Connection: close\r\n"),
                _ => ("HTTP/1.1", ""),
            };
            var head = $"{version} {(valid ? "200 OK" : "401 Unauthorized")}\r\nContent-Type: application/json\r\nContent-Length: {answer.Length}\r\n{connection}\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head + answer), _stop.Token);
            if (_style is not (Style.ClosesIdleAfter20Ms or Style.DropsSecondRequestOnAConnection))
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
    }

    /// <summary>Reads header lines and then exact byte counts from one buffered stream.</summary>
    private sealed class BufferedReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[16384];
        private int _start;
        private int _end;

        private async Task<bool> FillAsync(CancellationToken ct)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), ct);
            _end += read;
            return read > 0;
        }

        public async Task<string?> ReadLineAsync(CancellationToken ct)
        {
            while (true)
            {
                var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline >= 0)
                {
                    var line = Encoding.ASCII.GetString(_buffer, _start, newline - _start).TrimEnd('\r');
                    _start = newline + 1;
                    return line;
                }
                if (!await FillAsync(ct))
                {
                    return null;
                }
            }
        }

        public async Task<byte[]> ReadExactlyAsync(int count, CancellationToken ct)
        {
            while (_end - _start < count)
            {
                if (!await FillAsync(ct))
                {
                    throw new IOException("the request ended early");
                }
            }
            var bytes = _buffer.AsSpan(_start, count).ToArray();
            _start += count;
            return bytes;
        }
    }
}
