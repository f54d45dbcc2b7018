using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace OnceHub.Webhooks;

/// <summary>Why a signature was refused (or <see cref="None"/> when it was accepted).</summary>
public enum SignatureFailure
{
    None,
    /// <summary>No header, or an empty one.</summary>
    MissingHeader,
    /// <summary>Not a comma-separated list of key=value parts, or a key given twice.</summary>
    Malformed,
    /// <summary>No <c>t</c> part.</summary>
    MissingTimestamp,
    /// <summary><c>t</c> is not a non-negative whole number of seconds.</summary>
    InvalidTimestamp,
    /// <summary>No <c>s</c> part.</summary>
    MissingSignature,
    /// <summary><c>s</c> is not 64 hexadecimal characters.</summary>
    InvalidSignatureHex,
    /// <summary><c>t</c> is further from now than the tolerance, in either direction.</summary>
    TimestampOutsideTolerance,
    /// <summary>Well formed and fresh, but no candidate secret produces this signature.</summary>
    Mismatch,
}

/// <summary>The outcome of one verification. Never carries a secret.</summary>
public readonly record struct SignatureCheck(SignatureFailure Failure, string Reason, long? Timestamp, int SecretIndex)
{
    public bool IsValid => Failure == SignatureFailure.None;
}

/// <summary>
/// Verifies <c>Oncehub-Signature</c> headers: constant-time comparison, a timestamp tolerance in both
/// directions (default 300 s), and several candidate secrets so a secret can be rolled over. Never
/// throws on what a sender controls: every problem comes back as a <see cref="SignatureCheck"/>.
/// </summary>
public sealed class SignatureVerifier
{
    /// <summary>Default allowed distance between the header's <c>t</c> and the receiver's clock.</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromSeconds(300);

    private const int MacHexLength = HMACSHA256.HashSizeInBytes * 2;
    // 19 digits hold every long; longer is certainly not a timestamp and is refused before parsing.
    private const int MaxTimestampDigits = 19;

    private readonly byte[][] _keys;
    private readonly long _toleranceSeconds;
    private readonly TimeProvider _clock;

    /// <param name="secrets">Candidate secrets, e.g. the current and the previous one during a rollover.</param>
    /// <param name="tolerance">Allowed clock distance; default 300 s.</param>
    /// <param name="clock">The receiver's clock; default the system clock.</param>
    public SignatureVerifier(IEnumerable<string> secrets, TimeSpan? tolerance = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        _keys = [.. secrets.Select(s => string.IsNullOrEmpty(s)
            ? throw new ArgumentException("a webhook secret must not be empty", nameof(secrets))
            : Encoding.UTF8.GetBytes(s))];
        if (_keys.Length == 0)
        {
            throw new ArgumentException("at least one webhook secret is required", nameof(secrets));
        }
        var t = tolerance ?? DefaultTolerance;
        if (t < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), "the tolerance must not be negative");
        }
        _toleranceSeconds = (long)t.TotalSeconds;
        _clock = clock ?? TimeProvider.System;
    }

    public SignatureVerifier(string secret, TimeSpan? tolerance = null, TimeProvider? clock = null)
        : this([secret], tolerance, clock)
    {
    }

    public TimeSpan Tolerance => TimeSpan.FromSeconds(_toleranceSeconds);

    public override string ToString() => $"SignatureVerifier({_keys.Length} secret(s) hidden, tolerance {_toleranceSeconds} s)";

    /// <summary>Checks <paramref name="header"/> (the raw header value, null when absent) against the raw body.</summary>
    public SignatureCheck Verify(string? header, ReadOnlySpan<byte> body) => Verify(header.AsSpan(), body);

    public SignatureCheck Verify(ReadOnlySpan<char> header, ReadOnlySpan<byte> body)
    {
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        var check = CheckHeader(header, out var t, expected);
        if (!check.IsValid)
        {
            return check;
        }

        Span<byte> actual = stackalloc byte[HMACSHA256.HashSizeInBytes];
        for (var i = 0; i < _keys.Length; i++)
        {
            WebhookSigner.Compute(_keys[i], t, body, actual);
            if (CryptographicOperations.FixedTimeEquals(actual, expected))
            {
                return new SignatureCheck(SignatureFailure.None, "valid", check.Timestamp, i);
            }
        }
        return Fail(SignatureFailure.Mismatch, "Oncehub-Signature does not match the body with any configured secret", check.Timestamp);
    }

    /// <summary>
    /// Every check that needs no body: presence, form, timestamp within tolerance, signature as 64 hex
    /// characters. Valid means only the MAC over the body is left to compare (<see cref="SignatureCheck.SecretIndex"/> is -1),
    /// so a receiver can refuse a bad header before reading the body.
    /// </summary>
    public SignatureCheck CheckHeader(ReadOnlySpan<char> header)
    {
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        return CheckHeader(header, out _, expected);
    }

    private SignatureCheck CheckHeader(ReadOnlySpan<char> header, out ReadOnlySpan<char> t, Span<byte> expected)
    {
        t = default;
        if (header.IsWhiteSpace())
        {
            return Fail(SignatureFailure.MissingHeader, "no Oncehub-Signature header");
        }

        ReadOnlySpan<char> s = default;
        bool haveT = false, haveS = false;
        foreach (var range in header.Split(','))
        {
            var part = header[range].Trim();
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                return Fail(SignatureFailure.Malformed, "malformed Oncehub-Signature: expected key=value parts separated by ','");
            }
            var key = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (key.SequenceEqual("t"))
            {
                if (haveT)
                {
                    return Fail(SignatureFailure.Malformed, "malformed Oncehub-Signature: 't' given more than once");
                }
                t = value;
                haveT = true;
            }
            else if (key.SequenceEqual("s"))
            {
                if (haveS)
                {
                    return Fail(SignatureFailure.Malformed, "malformed Oncehub-Signature: 's' given more than once");
                }
                s = value;
                haveS = true;
            }
            // Other keys are ignored so that a later header version can add parts.
        }

        if (!haveT)
        {
            return Fail(SignatureFailure.MissingTimestamp, "Oncehub-Signature has no 't' (timestamp) part");
        }
        if (t.IsEmpty || t.Length > MaxTimestampDigits || !IsAsciiDigits(t)
            || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
        {
            return Fail(SignatureFailure.InvalidTimestamp, "Oncehub-Signature 't' must be whole unix seconds (digits only)");
        }
        if (!haveS)
        {
            return Fail(SignatureFailure.MissingSignature, "Oncehub-Signature has no 's' (signature) part", timestamp);
        }

        if (s.Length != MacHexLength
            || Convert.FromHexString(s, expected, out _, out var written) != OperationStatus.Done
            || written != expected.Length)
        {
            return Fail(SignatureFailure.InvalidSignatureHex, "Oncehub-Signature 's' must be 64 hexadecimal characters", timestamp);
        }

        // now - timestamp cannot overflow: now is far from long.MinValue and timestamp is non-negative.
        var distance = Math.Abs(_clock.GetUtcNow().ToUnixTimeSeconds() - timestamp);
        if (distance > _toleranceSeconds)
        {
            return Fail(SignatureFailure.TimestampOutsideTolerance,
                $"Oncehub-Signature timestamp is {distance} s from now, beyond the {_toleranceSeconds} s tolerance", timestamp);
        }

        return new SignatureCheck(SignatureFailure.None, "header valid; body not checked", timestamp, -1);
    }

    private static bool IsAsciiDigits(ReadOnlySpan<char> value) => !value.ContainsAnyExceptInRange('0', '9');

    private static SignatureCheck Fail(SignatureFailure failure, string reason, long? timestamp = null) =>
        new(failure, reason, timestamp, -1);
}
