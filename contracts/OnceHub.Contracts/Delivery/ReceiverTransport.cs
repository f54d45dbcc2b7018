using System.Net.Sockets;

namespace OnceHub.Contracts.Delivery;

/// <summary>
/// What the transport knows about one attempt: the connection that carried it, whether that connection
/// had carried an earlier request, and whether any byte of answer came back on it.
/// </summary>
internal sealed class AttemptTrace
{
    private static readonly AsyncLocal<AttemptTrace?> CurrentTrace = new();

    public static AttemptTrace? Current
    {
        get => CurrentTrace.Value;
        set => CurrentTrace.Value = value;
    }

    public TrackedStream? Connection { get; set; }

    public bool Reused { get; set; }

    public long ReadBeforeRequest { get; set; }

    /// <summary>True when the request went out on an earlier request's connection and nothing came back.</summary>
    public bool FailedUnansweredOnReusedConnection => Connection is { } c && Reused && c.BytesRead == ReadBeforeRequest;

    public bool AnyAnswerByte => Connection is { } c && c.BytesRead > ReadBeforeRequest;
}

/// <summary>
/// The socket stream of one pooled connection, counting what it carried. The request's headers are
/// written from within the request's own async flow, so the first write tells which attempt a
/// connection serves and whether it served one before; reads may run ahead of the request (the
/// connection pool reads ahead on idle connections), so only the byte count is used for them.
/// </summary>
internal sealed class TrackedStream(Stream inner) : Stream
{
    private long _bytesRead;
    private int _requests;
    private AttemptTrace? _lastTrace;

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, ct).ConfigureAwait(false);
            return new TrackedStream(new NetworkStream(socket, ownsSocket: true));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void NoteWrite()
    {
        var trace = AttemptTrace.Current;
        if (trace is null || ReferenceEquals(trace, _lastTrace))
        {
            return;
        }
        _lastTrace = trace;
        trace.Connection = this;
        trace.Reused = Interlocked.Increment(ref _requests) > 1;
        trace.ReadBeforeRequest = BytesRead;
    }

    private int Count(int read)
    {
        Interlocked.Add(ref _bytesRead, read);
        return read;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(buffer, cancellationToken);
        // Data already buffered by the socket completes at once: no state machine for it.
        return read.IsCompletedSuccessfully ? new ValueTask<int>(Count(read.Result)) : CountAsync(read);
    }

    private async ValueTask<int> CountAsync(ValueTask<int> read) => Count(await read.ConfigureAwait(false));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        NoteWrite();
        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count)
    {
        NoteWrite();
        inner.Write(buffer, offset, count);
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>Transport failures in words a receiver's author acts on, never a .NET enum name.</summary>
internal static class TransportErrors
{
    public static string Describe(Exception ex, AttemptTrace trace)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException socket)
            {
                switch (socket.SocketErrorCode)
                {
                    case SocketError.ConnectionRefused:
                        return "connection refused";
                    case SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain:
                        return "host name not found";
                    case SocketError.HostUnreachable or SocketError.NetworkUnreachable:
                        return "host unreachable";
                    case SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown:
                        return trace.AnyAnswerByte ? "connection reset while answering" : "connection reset before answering";
                }
            }
        }
        var answered = trace.AnyAnswerByte;
        return (ex as HttpRequestException)?.HttpRequestError switch
        {
            HttpRequestError.SecureConnectionError => "TLS handshake failed: does the target speak plain HTTP?",
            HttpRequestError.NameResolutionError => "host name not found",
            HttpRequestError.ResponseEnded => answered ? "closed in the middle of the answer" : "closed before answering",
            HttpRequestError.InvalidResponse => "the answer is not valid HTTP",
            HttpRequestError.ConfigurationLimitExceeded => "the answer's headers are too large",
            HttpRequestError.ProxyTunnelError => "the proxy refused the tunnel",
            _ when ex is IOException => answered ? "closed in the middle of the answer" : "closed before answering",
            _ => "connection failed",
        };
    }
}
