using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace OnceHub.Benchmarks.Harness;

/// <summary>
/// What a team would write without the library, the reference the receiver is measured against: read the body,
/// check the HMAC of <c>t.body</c>, take the event id from the JSON and hand it to <c>record</c> (one insert).
/// </summary>
public static class HandWrittenEndpoint
{
    public static Task<MinimalHost> StartAsync(string path, string secret, Func<string?, ValueTask> record, IDisposable? owned = null)
    {
        var key = Encoding.UTF8.GetBytes(secret);
        return MinimalHost.StartAsync(app => app.MapPost(path, async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var header = http.Request.Headers["Oncehub-Signature"].ToString();
            var parts = header.Split(',');
            if (parts.Length != 2 || !parts[0].StartsWith("t=", StringComparison.Ordinal) || !parts[1].StartsWith("s=", StringComparison.Ordinal))
            {
                return Results.StatusCode(401);
            }
            byte[] message = [.. Encoding.UTF8.GetBytes(parts[0][2..] + "."), .. body];
            var expected = HMACSHA256.HashData(key, message);
            if (!CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(parts[1][2..])))
            {
                return Results.StatusCode(401);
            }
            await record(System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString());
            return Results.Ok();
        }), owned);
    }
}
