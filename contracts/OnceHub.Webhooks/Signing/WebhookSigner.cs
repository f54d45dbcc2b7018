using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OnceHub.Webhooks;

/// <summary>
/// Produces <c>Oncehub-Signature</c> header values: <c>t=&lt;unix seconds&gt;,s=&lt;lowercase hex
/// HMAC-SHA256&gt;</c>, keyed with the webhook secret (UTF-8) over <c>"&lt;t&gt;.&lt;raw body&gt;"</c>.
/// </summary>
public sealed class WebhookSigner
{
    /// <summary>The header OnceHub signs its deliveries with.</summary>
    public const string HeaderName = "Oncehub-Signature";

    private readonly byte[] _key;

    public WebhookSigner(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        _key = Encoding.UTF8.GetBytes(secret);
    }

    /// <summary>The header value for <paramref name="body"/> signed at <paramref name="unixSeconds"/>.</summary>
    public string CreateHeader(ReadOnlySpan<byte> body, long unixSeconds)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(_key, unixSeconds.ToString(CultureInfo.InvariantCulture), body, mac);
        return string.Create(CultureInfo.InvariantCulture, $"t={unixSeconds},s={Convert.ToHexStringLower(mac)}");
    }

    /// <summary>The header value for <paramref name="body"/> signed at the current time of <paramref name="clock"/>.</summary>
    public string CreateHeader(ReadOnlySpan<byte> body, TimeProvider? clock = null) =>
        CreateHeader(body, (clock ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds());

    public override string ToString() => "WebhookSigner(secret: hidden)";

    /// <summary>HMAC-SHA256 with <paramref name="key"/> over the ASCII timestamp, '.', then the body.</summary>
    internal static void Compute(ReadOnlySpan<byte> key, ReadOnlySpan<char> timestamp, ReadOnlySpan<byte> body, Span<byte> mac)
    {
        var length = timestamp.Length + 1 + body.Length;
        byte[]? rented = null;
        // Small bodies are hashed from the stack; larger ones from a pooled buffer, so signing and
        // verifying allocate nothing per call.
        var message = length <= 2048 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            for (var i = 0; i < timestamp.Length; i++)
            {
                message[i] = (byte)timestamp[i];
            }
            message[timestamp.Length] = (byte)'.';
            body.CopyTo(message[(timestamp.Length + 1)..]);
            HMACSHA256.HashData(key, message, mac);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
