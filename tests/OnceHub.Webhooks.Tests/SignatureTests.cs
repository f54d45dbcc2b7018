using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace OnceHub.Webhooks.Tests;

public class SignatureTests
{
    private const string Secret = "whsec_test_3f9a1c";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"id\":\"EVNT-KN56U3YL7C\",\"object\":\"event\"}");
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_774_000_000);

    // Independent of the library: HMAC instance API over the concatenated bytes, hex by hand.
    private static string Expected(string secret, long t, byte[] body)
    {
        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret));
        var message = Encoding.ASCII.GetBytes(t.ToString(CultureInfo.InvariantCulture) + ".").Concat(body).ToArray();
        var hex = new StringBuilder();
        foreach (var b in hmac.ComputeHash(message))
        {
            hex.Append(b.ToString("x2", CultureInfo.InvariantCulture));
        }
        return $"t={t},s={hex}";
    }

    private static SignatureVerifier Verifier(params string[] secrets) =>
        new(secrets, clock: new FakeTimeProvider(Now));

    [Theory]
    [InlineData("whsec_test_3f9a1c", 1_774_000_000L)]
    [InlineData("ünïcødé secret ✓", 0L)]
    [InlineData("s", 9_999_999_999L)]
    public void Signer_matches_an_independent_hmac(string secret, long t)
    {
        Assert.Equal(Expected(secret, t, Body), new WebhookSigner(secret).CreateHeader(Body, t));
    }

    [Fact]
    public void Signer_handles_large_bodies_the_same_way()
    {
        var large = new byte[100_000];
        new Random(7).NextBytes(large);
        Assert.Equal(Expected(Secret, 42, large), new WebhookSigner(Secret).CreateHeader(large, 42));
    }

    [Fact]
    public void Valid_signature_is_accepted()
    {
        var check = Verifier(Secret).Verify(Expected(Secret, Now.ToUnixTimeSeconds(), Body), Body);
        Assert.True(check.IsValid, check.Reason);
        Assert.Equal(0, check.SecretIndex);
        Assert.Equal(Now.ToUnixTimeSeconds(), check.Timestamp);
    }

    [Fact]
    public void The_header_check_refuses_what_the_header_alone_decides_and_leaves_the_mac_to_the_body()
    {
        var verifier = Verifier(Secret);
        var now = Now.ToUnixTimeSeconds();
        var forged = $"t={now},s={new string('a', 64)}";

        // A well-formed, fresh header passes the header check even with a wrong MAC; only the body can tell.
        var header = verifier.CheckHeader(forged);
        Assert.True(header.IsValid, header.Reason);
        Assert.Equal((now, -1), (header.Timestamp!.Value, header.SecretIndex));
        Assert.Equal(SignatureFailure.Mismatch, verifier.Verify(forged, Body).Failure);

        Assert.Equal(SignatureFailure.MissingHeader, verifier.CheckHeader("").Failure);
        Assert.Equal(SignatureFailure.MissingSignature, verifier.CheckHeader($"t={now}").Failure);
        Assert.Equal(SignatureFailure.InvalidSignatureHex, verifier.CheckHeader($"t={now},s=xyz").Failure);
        Assert.Equal(SignatureFailure.TimestampOutsideTolerance, verifier.CheckHeader($"t={now - 301},s={new string('a', 64)}").Failure);
    }

    [Fact]
    public void Uppercase_hex_and_spaces_around_parts_are_accepted()
    {
        var header = Expected(Secret, Now.ToUnixTimeSeconds(), Body);
        var s = header[(header.IndexOf(",s=", StringComparison.Ordinal) + 3)..];
        var check = Verifier(Secret).Verify($" t={Now.ToUnixTimeSeconds()} , s={s.ToUpperInvariant()} ", Body);
        Assert.True(check.IsValid, check.Reason);
    }

    [Fact]
    public void Body_changed_after_signing_is_a_mismatch()
    {
        var header = Expected(Secret, Now.ToUnixTimeSeconds(), Body);
        var tampered = (byte[])Body.Clone();
        tampered[^2] ^= 0x01;
        Assert.Equal(SignatureFailure.Mismatch, Verifier(Secret).Verify(header, tampered).Failure);
        Assert.Equal(SignatureFailure.Mismatch, Verifier(Secret).Verify(header, Body.Concat(" "u8.ToArray()).ToArray()).Failure);
    }

    [Fact]
    public void Timestamp_changed_after_signing_is_a_mismatch()
    {
        var header = Expected(Secret, Now.ToUnixTimeSeconds(), Body).Replace($"t={Now.ToUnixTimeSeconds()}", $"t={Now.ToUnixTimeSeconds() - 1}", StringComparison.Ordinal);
        Assert.Equal(SignatureFailure.Mismatch, Verifier(Secret).Verify(header, Body).Failure);
    }

    [Fact]
    public void Other_secret_is_a_mismatch()
    {
        var check = Verifier(Secret).Verify(Expected("someone-else", Now.ToUnixTimeSeconds(), Body), Body);
        Assert.Equal(SignatureFailure.Mismatch, check.Failure);
        Assert.False(check.IsValid);
    }

    [Fact]
    public void Rollover_accepts_any_candidate_secret_and_says_which()
    {
        var verifier = Verifier("new-secret", "old-secret");
        var byOld = verifier.Verify(Expected("old-secret", Now.ToUnixTimeSeconds(), Body), Body);
        var byNew = verifier.Verify(Expected("new-secret", Now.ToUnixTimeSeconds(), Body), Body);
        Assert.True(byOld.IsValid);
        Assert.Equal(1, byOld.SecretIndex);
        Assert.True(byNew.IsValid);
        Assert.Equal(0, byNew.SecretIndex);
        Assert.Equal(SignatureFailure.Mismatch, verifier.Verify(Expected("retired", Now.ToUnixTimeSeconds(), Body), Body).Failure);
    }

    [Theory]
    [InlineData(-300, true)]
    [InlineData(300, true)]
    [InlineData(-301, false)]
    [InlineData(301, false)]
    [InlineData(-86400, false)]
    public void Default_tolerance_is_300_seconds_both_ways(long shift, bool valid)
    {
        var t = Now.ToUnixTimeSeconds() + shift;
        var check = Verifier(Secret).Verify(Expected(Secret, t, Body), Body);
        Assert.Equal(valid, check.IsValid);
        if (!valid)
        {
            Assert.Equal(SignatureFailure.TimestampOutsideTolerance, check.Failure);
        }
    }

    [Fact]
    public void Tolerance_is_settable_and_follows_the_clock()
    {
        var clock = new FakeTimeProvider(Now);
        var verifier = new SignatureVerifier([Secret], TimeSpan.FromSeconds(10), clock);
        var header = Expected(Secret, Now.ToUnixTimeSeconds(), Body);
        Assert.True(verifier.Verify(header, Body).IsValid);
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal(SignatureFailure.TimestampOutsideTolerance, verifier.Verify(header, Body).Failure);
    }

    public static TheoryData<string?, SignatureFailure> MalformedHeaders()
    {
        var goodHex = new string('a', 64);
        var t = Now.ToUnixTimeSeconds();
        return new TheoryData<string?, SignatureFailure>
        {
            { null, SignatureFailure.MissingHeader },
            { "", SignatureFailure.MissingHeader },
            { "   ", SignatureFailure.MissingHeader },
            { "garbage", SignatureFailure.Malformed },
            { "=", SignatureFailure.Malformed },
            { ",", SignatureFailure.Malformed },
            { "t=1,,s=2", SignatureFailure.Malformed },
            { $"t={t},t={t},s={goodHex}", SignatureFailure.Malformed },
            { $"t={t},s={goodHex},s={goodHex}", SignatureFailure.Malformed },
            { $"s={goodHex}", SignatureFailure.MissingTimestamp },
            { $"T={t},s={goodHex}", SignatureFailure.MissingTimestamp },
            { $"t=,s={goodHex}", SignatureFailure.InvalidTimestamp },
            { $"t=-5,s={goodHex}", SignatureFailure.InvalidTimestamp },
            { $"t=+5,s={goodHex}", SignatureFailure.InvalidTimestamp },
            { $"t=1.5,s={goodHex}", SignatureFailure.InvalidTimestamp },
            { $"t=0x10,s={goodHex}", SignatureFailure.InvalidTimestamp },
            { $"t=99999999999999999999999,s={goodHex}", SignatureFailure.InvalidTimestamp },
            { $"t=٣٤٥,s={goodHex}", SignatureFailure.InvalidTimestamp },
            { $"t=9223372036854775807,s={goodHex}", SignatureFailure.TimestampOutsideTolerance },
            { $"t=0,s={goodHex}", SignatureFailure.TimestampOutsideTolerance },
            { $"t={t}", SignatureFailure.MissingSignature },
            { $"t={t},s=", SignatureFailure.InvalidSignatureHex },
            { $"t={t},s=abc", SignatureFailure.InvalidSignatureHex },
            { $"t={t},s={new string('a', 63)}", SignatureFailure.InvalidSignatureHex },
            { $"t={t},s={new string('a', 65)}", SignatureFailure.InvalidSignatureHex },
            { $"t={t},s={new string('g', 64)}", SignatureFailure.InvalidSignatureHex },
            { $"t={t},s={new string('é', 64)}", SignatureFailure.InvalidSignatureHex },
            { $"t={t},s={goodHex[..62]} 0", SignatureFailure.InvalidSignatureHex },
            { $"t={t},s={goodHex}", SignatureFailure.Mismatch },
            { $"t={t},s={goodHex},v9=future-part", SignatureFailure.Mismatch },
            { "t=" + new string('1', 10_000) + ",s=" + goodHex, SignatureFailure.InvalidTimestamp },
            { new string(',', 10_000), SignatureFailure.Malformed },
            { $"t={t},s=" + new string('a', 10_000), SignatureFailure.InvalidSignatureHex },
            { "\u0000\u0001\u0002", SignatureFailure.Malformed },
            { "t=\u2003" + t + ",s=" + goodHex, SignatureFailure.Mismatch },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void Malformed_headers_never_throw_and_say_why(string? header, SignatureFailure expected)
    {
        var check = Verifier(Secret).Verify(header, Body);
        Assert.False(check.IsValid);
        Assert.Equal(expected, check.Failure);
        Assert.False(string.IsNullOrWhiteSpace(check.Reason));
        Assert.DoesNotContain(Secret, check.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_never_show_in_text()
    {
        Assert.DoesNotContain(Secret, new WebhookSigner(Secret).ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, Verifier(Secret, "old-" + Secret).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Verifier_refuses_to_be_built_without_a_usable_secret()
    {
        Assert.Throws<ArgumentException>(() => new SignatureVerifier(Array.Empty<string>()));
        Assert.Throws<ArgumentException>(() => new SignatureVerifier(""));
    }
}
