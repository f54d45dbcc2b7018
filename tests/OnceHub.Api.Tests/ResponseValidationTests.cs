using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OnceHub.Account;

namespace OnceHub.Api.Tests;

/// <summary>The client against a stub that answers whatever a test says: malformed answers are reported clearly.</summary>
public sealed class ResponseValidationTests
{
    private const string Key = "stub-key-77aa99bb";

    private static async Task<(WebApplication App, IWebhookApi Client)> Stub(
        int status, string body, string contentType = "application/json", string? requestId = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(async ctx =>
        {
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = contentType;
            if (requestId is not null)
            {
                ctx.Response.Headers["Request-Id"] = requestId;
            }

            await ctx.Response.WriteAsync(body);
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var client = OnceHubClient.Create(new OnceHubClientOptions
        {
            BaseUrl = new Uri($"http://127.0.0.1:{address.Port}/v2"),
            ApiKey = Key,
            MaxAttempts = 1,
        });
        return (app, client);
    }

    public static TheoryData<string, string> MalformedWebhooks => new()
    {
        { "{}", "'id'" },
        { "{\"object\":\"webhook\",\"id\":\"WHK-1\",\"url\":\"https://a\",\"events\":[],\"api_version\":\"v2\",\"creation_time\":\"2026-01-01T00:00:00Z\"}", "'name'" },
        { "{\"id\":\"WHK-1\",\"name\":\"n\",\"url\":\"https://a\",\"events\":[\"booking\"],\"api_version\":\"v2\",\"creation_time\":\"yesterday\"}", "'creation_time'" },
        { "{\"id\":\"WHK-1\",\"name\":\"n\",\"url\":\"https://a\",\"events\":[\"booking\"],\"api_version\":\"v2\",\"creation_time\":\"2026-01-01T00:00:00Z\",\"secret\":\"short\"}", "'secret'" },
        { "{\"object\":\"list\",\"data\":[]}", "'object'" },
        { "<html>hello</html>", "not the expected JSON" },
        { "{\"id\": 5}", "not the expected JSON" },
    };

    [Theory]
    [MemberData(nameof(MalformedWebhooks))]
    public async Task A_malformed_webhook_is_reported_naming_the_problem(string body, string fragment)
    {
        var (app, client) = await Stub(200, body);
        await using (app)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => client.GetAsync("WHK-1"));
            Assert.Contains("malformed", ex.Message);
            Assert.Contains(fragment, ex.Message);
            Assert.DoesNotContain("short", ex.Message); // a secret's value is never quoted
        }
    }

    [Theory]
    [InlineData("{\"object\":\"list\",\"data\":[]}", "'has_more'")]
    [InlineData("{\"object\":\"list\",\"data\":[],\"has_more\":true}", "empty page")]
    [InlineData("{\"object\":\"list\",\"data\":[null],\"has_more\":false}", "null")]
    public async Task A_malformed_list_is_reported(string body, string fragment)
    {
        var (app, client) = await Stub(200, body);
        await using (app)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => client.ListAsync());
            Assert.Contains(fragment, ex.Message);
        }
    }

    [Fact]
    public async Task A_non_json_error_keeps_its_status()
    {
        var (app, client) = await Stub(500, "<html>Internal Server Error</html>", "text/html");
        await using (app)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => client.ListAsync());
            Assert.Equal(500, ex.StatusCode);
            Assert.Equal(ApiErrorTypes.Api, ex.Type);
            Assert.Contains("without an error object", ex.Message);
        }
    }

    [Fact]
    public async Task A_bare_404_is_not_taken_for_a_missing_webhook()
    {
        // A wrong base URL answers 404 for everything; reading that as "deleted" would lose track of webhooks.
        var (app, client) = await Stub(404, "", "text/plain");
        await using (app)
        using (client)
        {
            var get = await Assert.ThrowsAsync<OnceHubApiException>(() => client.GetAsync("WHK-1"));
            Assert.Equal(404, get.StatusCode);
            Assert.Contains("base URL", get.Message);
            await Assert.ThrowsAsync<OnceHubApiException>(() => client.DeleteAsync("WHK-1"));
        }
    }

    [Fact]
    public async Task A_server_echoing_the_key_does_not_get_it_into_messages()
    {
        var (app, client) = await Stub(401, $"{{\"type\":\"authentication_error\",\"message\":\"Invalid API key provided: {Key}\"}}");
        await using (app)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => client.ListAsync());
            Assert.Equal(401, ex.StatusCode);
            Assert.Equal("Invalid API key provided: ***", ex.Message);
            Secrets.AssertAbsent(ex, Key);
        }
    }

    [Fact]
    public async Task A_create_answered_2xx_but_unreadable_adopts_the_committed_webhook()
    {
        // The POST committed but its answer is garbage; the listing shows the webhook.
        const string listed = "{\"object\":\"list\",\"has_more\":false,\"data\":[{\"object\":\"webhook\",\"id\":\"WHK-ADOPTED\",\"name\":\"n\",\"url\":\"https://a.example.com/h\",\"events\":[\"booking\"],\"api_version\":\"v2\",\"creation_time\":\"2026-01-01T00:00:00Z\"}]}";
        var posts = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.Run(async ctx =>
        {
            ctx.Response.ContentType = "application/json";
            if (HttpMethods.IsPost(ctx.Request.Method))
            {
                Interlocked.Increment(ref posts);
                ctx.Response.StatusCode = 201;
                await ctx.Response.WriteAsync("<html>created</html>");
                return;
            }

            await ctx.Response.WriteAsync(listed);
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        using var client = OnceHubClient.Create(new OnceHubClientOptions
        {
            BaseUrl = new Uri($"http://127.0.0.1:{address.Port}/v2"),
            ApiKey = Key,
            MaxAttempts = 1,
        });

        var created = await client.CreateAsync(new WebhookRequest("n", "https://a.example.com/h", ["booking"]));

        Assert.Equal("WHK-ADOPTED", created.Id);
        Assert.Null(created.Secret);
        Assert.Equal(1, posts); // adopted, never re-sent
    }

    [Fact]
    public async Task The_nested_error_spelling_is_understood()
    {
        var (app, client) = await Stub(409, "{\"error\":{\"type\":\"invalid_request_error\",\"message\":\"taken\",\"param\":\"name\"}}");
        await using (app)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<OnceHubApiException>(
                () => client.CreateAsync(new WebhookRequest("n", "https://a.example.com", ["booking"])));
            Assert.Equal((409, "invalid_request_error", "taken", "name"), (ex.StatusCode, ex.Type, ex.Message, ex.Param));
        }
    }

    [Theory]
    [InlineData("req_1234567890abcdef", "req_1234567890abcdef")]
    [InlineData("req 12 with spaces", null)]
    [InlineData("", null)]
    public async Task A_Request_Id_reaches_the_error_only_when_it_is_one_printable_token(string header, string? expected)
    {
        var (app, client) = await Stub(503, "{\"type\":\"api_error\",\"message\":\"down\"}", requestId: header);
        await using (app)
        using (client)
        {
            var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => client.ListAsync());
            Assert.Equal(expected, ex.RequestId);
            Assert.Equal(expected is null ? "down" : $"down (Request-Id: {expected})", ex.Message);
        }
    }

    [Fact]
    public async Task A_deleted_webhook_answered_in_redacted_mode_reads_as_gone()
    {
        var (app, client) = await Stub(200, "{\"id\":\"WHK-1\",\"object\":\"webhook\",\"deleted\":true}");
        await using (app)
        using (client)
        {
            Assert.Null(await client.GetAsync("WHK-1"));
            Assert.True(await client.DeleteAsync("WHK-1"));

            // Another id's redaction is no answer about this one.
            var other = await Assert.ThrowsAsync<OnceHubApiException>(() => client.GetAsync("WHK-2"));
            Assert.Contains("malformed", other.Message);
        }
    }
}
