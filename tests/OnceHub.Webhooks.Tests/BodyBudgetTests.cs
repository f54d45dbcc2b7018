using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.TestSupport;

namespace OnceHub.Webhooks.Tests;

public sealed class BodyBudgetTests
{
    private const string Secret = "budget-test-secret";
    private const int MaxBody = 128 * 1024;
    private const int Budget = 2 * MaxBody;

    /// <summary>A stranger: a well-formed, current but forged header, most of a body, and then nothing.</summary>
    private static async Task<TcpClient> HoldAsync(Uri url, int sent)
    {
        var client = new TcpClient();
        await client.ConnectAsync(url.Host, url.Port);
        var forged = $"t={DateTimeOffset.UtcNow.ToUnixTimeSeconds()},s={RandomNumberGenerator.GetHexString(64, lowercase: true)}";
        var headers = $"POST {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: application/json\r\nContent-Length: {MaxBody}\r\n"
            + $"{WebhookSigner.HeaderName}: {forged}\r\n\r\n";
        await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(headers));
        await client.GetStream().WriteAsync(new byte[sent]);
        return client;
    }

    [Fact]
    public async Task Past_the_budget_a_delivery_gets_503_with_Retry_After_and_once_the_holders_leave_it_is_accepted()
    {
        await using var host = await LibraryHost.StartAsync(new Dictionary<string, string?>
        {
            ["OnceHub:Webhooks:Secrets:0"] = Secret,
            ["OnceHub:Webhooks:Store"] = "InMemory",
            ["OnceHub:Webhooks:MaxBodyBytes"] = $"{MaxBody}",
            ["OnceHub:Webhooks:UnverifiedBodyBudgetBytes"] = $"{Budget}",
        });
        var budget = host.Services.GetRequiredService<UnverifiedBodyBudget>();
        var sample = ContractResources.ReadSample("booking.scheduled");

        // two strangers each hold a buffer of the largest body size: the whole budget
        using var first = await HoldAsync(host.Url, 100 * 1024);
        using var second = await HoldAsync(host.Url, 100 * 1024);
        Assert.True(await Eventually.HoldsWithinAsync(() => budget.Available == 0, TimeSpan.FromSeconds(10)), $"{budget.Available} bytes still free");

        using (var refused = await EndpointTests.PostAsync(host.Url, ContractSuite.WithNewEventId(sample), Secret))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        }

        first.Dispose();
        second.Dispose();
        Assert.True(await Eventually.HoldsWithinAsync(() => budget.Available == Budget, TimeSpan.FromSeconds(10)), $"{budget.Available} of {Budget} bytes given back");
        using var accepted = await EndpointTests.PostAsync(host.Url, ContractSuite.WithNewEventId(sample), Secret);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(Budget, budget.Available);
    }
}
