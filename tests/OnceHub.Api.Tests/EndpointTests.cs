using System.Net;
using System.Text;
using System.Text.Json;
using OnceHub.Account;
using OnceHub.Emulator;
using Xunit.Abstractions;

namespace OnceHub.Api.Tests;

/// <summary>The client against the emulator over real HTTP: every endpoint and documented error.</summary>
public sealed class EndpointTests(ITestOutputHelper output)
{
    private static readonly WebhookRequest Sample = new("CRM sync", "https://hooks.example.com/oncehub", ["booking.scheduled", "booking.canceled"]);

    [Fact]
    public async Task Create_get_list_delete_round_trip()
    {
        await using var h = await Harness.StartAsync(output);

        var created = await h.Client.CreateAsync(Sample);
        Assert.StartsWith("WHK-", created.Id);
        Assert.Equal(Sample.Name, created.Name);
        Assert.Equal(Sample.Url, created.Url);
        Assert.Equal(Sample.Events, created.Events);
        Assert.Equal("v2", created.ApiVersion);
        Assert.Matches("^[0-9a-f]{64}$", created.Secret!);
        Assert.InRange(created.CreationTime, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));

        var fetched = await h.Client.GetAsync(created.Id);
        Assert.NotNull(fetched);
        Assert.Equal(created.Id, fetched.Id);
        Assert.Equal(created.Events, fetched.Events);
        Assert.Equal(created.CreationTime, fetched.CreationTime);
        Assert.Null(fetched.Secret); // shown at creation only

        var all = await h.Client.ListAsync();
        Assert.Equal(created.Id, Assert.Single(all).Id);

        Assert.True(await h.Client.DeleteAsync(created.Id));
        Assert.Null(await h.Client.GetAsync(created.Id));
        Assert.False(await h.Client.DeleteAsync(created.Id)); // 404 counts as done
        Assert.Empty(await h.Client.ListAsync());
        Assert.Equal(0, h.Server.WebhookCount);
    }

    [Fact]
    public async Task Composite_events_are_accepted_and_repeats_keep_first_occurrence()
    {
        await using var h = await Harness.StartAsync(output);
        var created = await h.Client.CreateAsync(new WebhookRequest(
            "all", "https://hooks.example.com/a", ["conversation", "booking.no_show", "conversation", "booking"]));
        Assert.Equal(["conversation", "booking.no_show", "booking"], created.Events);
    }

    [Fact]
    public async Task Wrong_api_key_is_401_and_the_key_appears_nowhere()
    {
        await using var h = await Harness.StartAsync(output);
        const string wrongKey = "wrong-key-0a9b8c7d6e5f";
        using var client = OnceHubClient.Create(new OnceHubClientOptions { BaseUrl = h.Server.BaseUrl, ApiKey = wrongKey }, h.Record);

        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => client.ListAsync());
        Assert.Equal(401, ex.StatusCode);
        Assert.Equal(ApiErrorTypes.Authentication, ex.Type);
        Assert.Equal("Invalid API key.", ex.Error.Message);
        Secrets.AssertAbsent(ex, wrongKey, Harness.ApiKey);
        Assert.All(h.Log, line => Secrets.AssertAbsent(line, wrongKey, Harness.ApiKey));
    }

    public static TheoryData<string, string, string[], string, string> BadRequests => new()
    {
        { "", "https://a.example.com/h", ["booking"], "name", "name is required" },
        { "   ", "https://a.example.com/h", ["booking"], "name", "name is required" },
        { "---!!", "https://a.example.com/h", ["booking"], "name", "alphanumeric" },
        { "n", "", ["booking"], "url", "url is required" },
        { "n", "http://a.example.com/h", ["booking"], "url", "https" },
        { "n", "http://127.0.0.1:9000/h", ["booking"], "url", "https" },
        { "n", "/relative/path", ["booking"], "url", "absolute" },
        { "n", "ftp://a.example.com/h", ["booking"], "url", "https" },
        { "n", "https://a.example.com/h", [], "events", "at least one event" },
        { "n", "https://a.example.com/h", ["booking", "booking.exploded"], "events", "'booking.exploded'" },
        { "n", "https://a.example.com/h", ["Booking.Scheduled"], "events", "'Booking.Scheduled'" },
        { "n", "https://a.example.com/h", [""], "events", "events[0]" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_input_is_400_naming_the_field(string name, string url, string[] events, string param, string fragment)
    {
        await using var h = await Harness.StartAsync(output);
        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.CreateAsync(new WebhookRequest(name, url, events)));
        Assert.Equal(400, ex.StatusCode);
        Assert.Equal(ApiErrorTypes.InvalidRequest, ex.Type);
        Assert.Equal(param, ex.Param);
        Assert.Contains(fragment, ex.Message);
        Assert.Equal(0, h.Server.WebhookCount);
        Assert.Equal(1, h.Server.RequestCount); // a refusal is final, never retried
    }

    [Fact]
    public async Task Duplicate_name_is_409_with_OnceHubs_message()
    {
        await using var h = await Harness.StartAsync(output);
        await h.Client.CreateAsync(Sample);
        var ex = await Assert.ThrowsAsync<OnceHubApiException>(
            () => h.Client.CreateAsync(Sample with { Url = "https://other.example.com/h" }));
        Assert.Equal(409, ex.StatusCode);
        Assert.Equal("name", ex.Param);
        Assert.Equal("A webhook subscription with this name already exists: 'CRM sync'", ex.Error.Message);
        Assert.Equal(1, h.Server.WebhookCount);
    }

    [Fact]
    public async Task An_error_carries_the_Request_Id_of_its_answer_for_OnceHub_support()
    {
        await using var h = await Harness.StartAsync(output);
        await h.Client.CreateAsync(Sample);
        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.CreateAsync(Sample));
        Assert.Matches("^req_[0-9a-f]{16}$", ex.RequestId);
        Assert.Equal($"A webhook subscription with this name already exists: 'CRM sync' (Request-Id: {ex.RequestId})", ex.Message);
    }

    [Fact]
    public async Task Insecure_receiver_urls_pass_only_with_the_opt_in_and_only_on_loopback()
    {
        await using var h = await Harness.StartAsync(output, new EmulatorOptions { AllowInsecureUrls = true });
        foreach (var url in new[] { "http://127.0.0.1:8080/h", "http://localhost/h", "http://[::1]:9/h" })
        {
            var created = await h.Client.CreateAsync(new WebhookRequest("n " + url, url, ["booking"]));
            Assert.Equal(url, created.Url);
        }

        var ex = await Assert.ThrowsAsync<OnceHubApiException>(
            () => h.Client.CreateAsync(new WebhookRequest("remote", "http://hooks.example.com/h", ["booking"])));
        Assert.Equal("url", ex.Param);
    }

    [Fact]
    public async Task Raw_http_errors_match_OnceHub()
    {
        await using var h = await Harness.StartAsync(output);
        var first = await h.Client.CreateAsync(Sample);
        using var http = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        http.DefaultRequestHeaders.Add("API-Key", Harness.ApiKey);

        await ExpectError(http.GetAsync("webhooks/WHK-NOPE"), 404, "invalid_request_error", "id", "No such webhook: 'WHK-NOPE'");
        await ExpectError(http.DeleteAsync("webhooks/WHK-NOPE"), 404, "invalid_request_error", "id", "No such webhook: 'WHK-NOPE'");
        await ExpectError(http.GetAsync($"webhooks?after={first.Id}&before={first.Id}"), 400, "invalid_request_error", null,
            "Received both before and after parameters. Please provide only one.");
        await ExpectError(http.GetAsync("webhooks?limit=0"), 400, "invalid_request_error", "limit",
            "Out of range value: 0. Please provide a number between 1 and 100.");
        await ExpectError(http.GetAsync("webhooks?limit=500"), 400, "invalid_request_error", "limit",
            "Out of range value: 500. Please provide a number between 1 and 100.");
        await ExpectError(http.GetAsync("webhooks?limit=ten"), 400, "invalid_request_error", "limit",
            "Out of range value: ten. Please provide a number between 1 and 100.");
        await ExpectError(http.GetAsync("webhooks?after=WHK-GONE"), 400, "invalid_request_error", "after", "WHK-GONE");
        await ExpectError(Post(http, "{\"name\": \"x\", "), 400, "invalid_request_error", "body", "not valid JSON");
        await ExpectError(Post(http, "[1,2]"), 400, "invalid_request_error", "body", "JSON object");
        await ExpectError(Post(http, "{\"name\": 5, \"url\": \"https://a.example.com\", \"events\": [\"booking\"]}"), 400, "invalid_request_error", "name", "string");
        await ExpectError(Post(http, "{\"name\": \"x\", \"url\": \"https://a.example.com\", \"events\": \"booking\"}"), 400, "invalid_request_error", "events", "list");
        await ExpectError(Post(http, "{\"name\": \"x\", \"url\": \"https://a.example.com\"}"), 400, "invalid_request_error", "events", "required");

        using var anonymous = new HttpClient { BaseAddress = http.BaseAddress };
        await ExpectError(anonymous.GetAsync("webhooks"), 401, "authentication_error", null, "No API key provided");
        Assert.Equal(1, h.Server.WebhookCount);
    }

    [Fact]
    public async Task Listing_follows_every_page_past_100_newest_first()
    {
        await using var h = await Harness.StartAsync(output);
        var ids = new List<string>();
        for (var i = 0; i < 230; i++)
        {
            ids.Add((await h.Client.CreateAsync(new WebhookRequest($"hook {i:000}", $"https://h.example.com/{i}", ["booking"]))).Id);
        }

        // OnceHub lists newest first.
        ids.Reverse();
        var listed = await h.Client.ListAsync();
        Assert.Equal(ids, listed.Select(w => w.Id));
        var pages = h.Server.Requests.Where(r => r.StartsWith("GET /v2/webhooks?", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, pages.Count); // 100 + 100 + 30
        Assert.Contains($"after={ids[99]}", pages[1]);
        output.WriteLine(string.Join("\n", pages));

        // The raw cursors: `after` goes on to older webhooks, `before` back to newer ones, same order.
        using var http = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        http.DefaultRequestHeaders.Add("API-Key", Harness.ApiKey);
        var before = await ReadList(await http.GetAsync($"webhooks?limit=5&before={ids[7]}"));
        Assert.Equal(ids[2..7], before.Ids);
        Assert.True(before.HasMore);
        var head = await ReadList(await http.GetAsync($"webhooks?limit=5&before={ids[3]}"));
        Assert.Equal(ids[0..3], head.Ids);
        Assert.False(head.HasMore);
        var defaults = await ReadList(await http.GetAsync("webhooks"));
        Assert.Equal(ids[0..10], defaults.Ids); // default limit 10, the newest
        Assert.True(defaults.HasMore);
        var tail = await ReadList(await http.GetAsync($"webhooks?limit=100&after={ids[199]}"));
        Assert.Equal(ids[200..], tail.Ids);
        Assert.False(tail.HasMore);
    }

    [Fact]
    public async Task Delete_answers_the_id_and_deleted_true()
    {
        await using var h = await Harness.StartAsync(output);
        var created = await h.Client.CreateAsync(Sample);
        using var http = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        http.DefaultRequestHeaders.Add("API-Key", Harness.ApiKey);

        using var response = await http.DeleteAsync($"webhooks/{created.Id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(created.Id, body.RootElement.GetProperty("id").GetString());
        Assert.True(body.RootElement.GetProperty("deleted").GetBoolean());
        Assert.Equal(2, body.RootElement.EnumerateObject().Count());
    }

    [Fact]
    public async Task Every_answer_carries_its_own_request_id()
    {
        await using var h = await Harness.StartAsync(output);
        using var http = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        var ids = new List<string>();
        async Task Collect(HttpRequestMessage request, HttpStatusCode expected)
        {
            using var response = await http.SendAsync(request);
            Assert.Equal(expected, response.StatusCode);
            var id = Assert.Single(response.Headers.GetValues("Request-Id"));
            Assert.Matches("^req_[0-9a-f]{16}$", id);
            ids.Add(id);
        }

        HttpRequestMessage Keyed(HttpMethod method, string path)
        {
            var request = new HttpRequestMessage(method, path);
            request.Headers.Add("API-Key", Harness.ApiKey);
            return request;
        }

        await Collect(Keyed(HttpMethod.Get, "webhooks"), HttpStatusCode.OK);
        h.Server.Faults.FailNext(1, 429);
        await Collect(Keyed(HttpMethod.Get, "webhooks"), HttpStatusCode.TooManyRequests);
        await Collect(new HttpRequestMessage(HttpMethod.Get, "webhooks"), HttpStatusCode.Unauthorized);
        await Collect(Keyed(HttpMethod.Delete, "nowhere"), HttpStatusCode.NotFound);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public async Task Over_the_account_rate_the_answer_is_OnceHubs_429()
    {
        await using var h = await Harness.StartAsync(output, new EmulatorOptions().WithDocumentedLimits());
        using var http = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        http.DefaultRequestHeaders.Add("API-Key", Harness.ApiKey);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await http.GetAsync("webhooks");
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                Assert.Equal("rate_limit_error", body.RootElement.GetProperty("type").GetString());
                Assert.Equal("Request rate limit exceeded", body.RootElement.GetProperty("message").GetString());
            }
        }

        output.WriteLine(string.Join(", ", statuses));
        // 5 a second: eight back-to-back requests cannot all pass.
        Assert.InRange(statuses.Count(s => s == HttpStatusCode.OK), 5, 7);
    }

    [Fact]
    public async Task Anonymous_floods_meet_the_address_limit_and_the_request_log_stays_bounded()
    {
        await using var h = await Harness.StartAsync(output, new EmulatorOptions { AddressLimit = 20, RequestLogCapacity = 50 });
        using var anonymous = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        var longPath = "webhooks/" + new string('x', 4000);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 120; i++)
        {
            using var response = await anonymous.GetAsync(longPath);
            statuses.Add(response.StatusCode);
        }

        // The per-address limit counts requests before authentication.
        Assert.Equal(20, statuses.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(100, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(120, h.Server.RequestCount);
        Assert.Equal(50, h.Server.Requests.Count);
        Assert.All(h.Server.Requests, line => Assert.True(line.Length < 400, $"logged line of {line.Length} characters"));
    }

    public static TheoryData<string, string, string> EmulatorBounds => new()
    {
        { "n", "https://a.example.com/" + new string('p', EmulatorRules.MaxUrlLength), "url" },
        { "n", "https://a.example.com/tab\there", "url" },
    };

    [Theory]
    [MemberData(nameof(EmulatorBounds))]
    public async Task The_emulator_bounds_urls(string name, string url, string param)
    {
        await using var h = await Harness.StartAsync(output);
        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => h.Client.CreateAsync(new WebhookRequest(name, url, ["booking"])));
        Assert.Equal((400, param), (ex.StatusCode, ex.Param));
        Assert.Equal(0, h.Server.WebhookCount);
    }

    [Fact]
    public async Task Names_are_left_to_OnceHubs_documented_rule_as_the_provider_leaves_them()
    {
        await using var h = await Harness.StartAsync(output);
        foreach (var name in new[] { new string('n', 300), "tab\tand\nline" })
        {
            Assert.Null(WebhookRules.CheckCreate(name, Sample.Url, Sample.Events, allowInsecureUrls: false).Refusal);
            Assert.Equal(name, (await h.Client.CreateAsync(Sample with { Name = name })).Name);
        }

        Assert.Equal(2, h.Server.WebhookCount);
    }

    [Theory]
    [InlineData("name")]
    [InlineData("events")]
    [InlineData("unknown_field")]
    public async Task Invalid_utf8_is_a_400_with_OnceHubs_error_json_and_a_Request_Id(string field)
    {
        await using var h = await Harness.StartAsync(output);
        using var http = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        http.DefaultRequestHeaders.Add("API-Key", Harness.ApiKey);
        var value = field == "events" ? "[\"booking.\xFF\"]" : "\"caf\xC3\"";
        var text = $"{{\"name\": \"n\", \"url\": \"https://a.example.com\", \"events\": [\"booking\"], \"{field}\": {value}}}";
        var bytes = text.Select(c => (byte)c).ToArray();
        Assert.False(System.Text.Unicode.Utf8.IsValid(bytes));
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new("application/json");
        await ExpectError(http.PostAsync("webhooks", content), 400, "invalid_request_error", "body", "UTF-8");
        Assert.Equal(0, h.Server.WebhookCount);
    }

    [Fact]
    public async Task In_redacting_mode_a_deleted_webhook_reads_as_redacted_and_the_client_sees_it_gone()
    {
        await using var h = await Harness.StartAsync(output, new EmulatorOptions { RedactDeleted = true });
        var created = await h.Client.CreateAsync(Sample);
        Assert.True(await h.Client.DeleteAsync(created.Id));

        using var http = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        http.DefaultRequestHeaders.Add("API-Key", Harness.ApiKey);
        using (var response = await http.GetAsync($"webhooks/{created.Id}"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(["id", "object", "deleted"], body.RootElement.EnumerateObject().Select(p => p.Name));
            Assert.Equal((created.Id, "webhook", true), (body.RootElement.GetProperty("id").GetString(),
                body.RootElement.GetProperty("object").GetString(), body.RootElement.GetProperty("deleted").GetBoolean()));
        }

        Assert.Null(await h.Client.GetAsync(created.Id));
        await h.Client.DeleteAsync(created.Id);
        Assert.Empty(await h.Client.ListAsync());
        await ExpectError(http.GetAsync("webhooks/WHK-NEVER"), 404, "invalid_request_error", "id", "No such webhook: 'WHK-NEVER'");
    }

    [Fact]
    public async Task Reads_carry_the_secret_only_in_the_mode_that_returns_it()
    {
        await using (var plain = await Harness.StartAsync(output))
        {
            var created = await plain.Client.CreateAsync(Sample);
            Assert.Null((await plain.Client.GetAsync(created.Id))!.Secret);
            Assert.Null(Assert.Single(await plain.Client.ListAsync()).Secret);
        }

        await using var h = await Harness.StartAsync(output, new EmulatorOptions { SecretOnReads = true });
        var made = await h.Client.CreateAsync(Sample);
        Assert.Matches("^[0-9a-f]{64}$", made.Secret!);
        Assert.Equal(made.Secret, (await h.Client.GetAsync(made.Id))!.Secret);
        Assert.Equal(made.Secret, Assert.Single(await h.Client.ListAsync()).Secret);
    }

    [Fact]
    public async Task An_oversized_body_is_refused()
    {
        await using var h = await Harness.StartAsync(output);
        using var http = new HttpClient { BaseAddress = new Uri(h.Server.BaseUrl + "/") };
        http.DefaultRequestHeaders.Add("API-Key", Harness.ApiKey);
        var events = string.Join(",", Enumerable.Repeat("\"booking\"", 10_000));
        await ExpectError(Post(http, $"{{\"name\": \"n\", \"url\": \"https://a.example.com\", \"events\": [{events}]}}"), 413, "invalid_request_error", "body", "at most");
    }

    private static Task<HttpResponseMessage> Post(HttpClient http, string json) =>
        http.PostAsync("webhooks", new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task ExpectError(Task<HttpResponseMessage> call, int status, string type, string? param, string fragment)
    {
        using var response = await call;
        Assert.Equal((HttpStatusCode)status, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(type, body.RootElement.GetProperty("type").GetString());
        Assert.Contains(fragment, body.RootElement.GetProperty("message").GetString());
        Assert.Matches("^req_[0-9a-f]{16}$", Assert.Single(response.Headers.GetValues("Request-Id")));
        Assert.Equal(param, body.RootElement.TryGetProperty("param", out var p) ? p.GetString() : null);
    }

    private static async Task<(List<string> Ids, bool HasMore)> ReadList(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("list", body.RootElement.GetProperty("object").GetString());
            return ([.. body.RootElement.GetProperty("data").EnumerateArray().Select(e => e.GetProperty("id").GetString()!)],
                body.RootElement.GetProperty("has_more").GetBoolean());
        }
    }
}
