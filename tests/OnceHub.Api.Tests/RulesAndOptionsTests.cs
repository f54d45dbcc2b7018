using OnceHub.Account;
using OnceHub.Emulator;
using OnceHub.Events;

namespace OnceHub.Api.Tests;

/// <summary>The account rules, option validation, the emulator's command line, and secret hygiene.</summary>
public sealed class RulesAndOptionsTests
{
    [Fact]
    public void Ids_and_secrets_have_OnceHubs_shape_and_differ()
    {
        var ids = Enumerable.Range(0, 50).Select(_ => WebhookRules.NewId()).ToList();
        Assert.All(ids, id => Assert.Matches("^WHK-[A-Z0-9]{12}$", id));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var secrets = Enumerable.Range(0, 50).Select(_ => WebhookRules.NewSecret()).ToList();
        Assert.All(secrets, s => Assert.Matches("^[0-9a-f]{64}$", s));
        Assert.Equal(secrets.Count, secrets.Distinct().Count());
    }

    [Fact]
    public void Every_catalog_name_is_accepted_and_nothing_else()
    {
        var ok = WebhookRules.CheckEvents(EventCatalog.SubscribableNames);
        Assert.Equal(EventCatalog.SubscribableNames, ok.Events);
        Assert.Equal("events", WebhookRules.CheckEvents(["booking.scheduled "]).Refusal?.Field);
        Assert.Equal("events", WebhookRules.CheckEvents(null).Refusal?.Field);
    }

    [Theory]
    [InlineData("https://h.example.com/x", false, true)]
    [InlineData("http://127.0.0.1:1/x", true, true)]
    [InlineData("http://localhost/x", true, true)]
    [InlineData("http://[::1]/x", true, true)]
    [InlineData("http://127.0.0.2/x", true, false)]
    [InlineData("http://10.0.0.1/x", true, false)]
    [InlineData("http://localhost/x", false, false)]
    [InlineData("https://", false, false)]
    [InlineData("mailto:a@b.c", true, false)]
    public void Receiver_url_rule(string url, bool allowInsecure, bool accepted) =>
        Assert.Equal(accepted, WebhookRules.CheckUrl(url, allowInsecure) is null);

    [Theory]
    [InlineData("", false, WebhookRule.Required, null, "url is required")]
    [InlineData("/relative", false, WebhookRule.AbsoluteUrl, null, "url must be an absolute URL with a host, e.g. https://example.com/hooks")]
    [InlineData("http://localhost/x", false, WebhookRule.Https, "http", "url must use https")]
    [InlineData("ftp://h.example.com/x", true, WebhookRule.HttpsOrLoopbackHttp, "ftp",
        "url must use https (http is allowed only for 127.0.0.1, localhost or [::1])")]
    public void A_refused_url_names_its_rule_and_the_api_words_it(string url, bool allowInsecure, WebhookRule rule, string? detail, string message)
    {
        var refusal = WebhookRules.CheckUrl(url, allowInsecure);
        Assert.Equal(new WebhookRefusal("url", rule, detail), refusal);
        Assert.Equal(ApiError.Invalid("url", message), ApiError.Refused(refusal!));
    }

    [Fact]
    public void A_refused_event_list_names_the_event_or_the_entry_at_fault()
    {
        Assert.Equal(new WebhookRefusal("events", WebhookRule.KnownEvent, "booking.exploded"),
            WebhookRules.CheckEvents(["booking", "booking.exploded"]).Refusal);
        Assert.Equal(new WebhookRefusal("events", WebhookRule.NonEmptyEvent, "1"), WebhookRules.CheckEvents(["booking", ""]).Refusal);
        Assert.Equal("events[1] must be a non-empty event name",
            ApiError.Refused(WebhookRules.CheckEvents(["booking", ""]).Refusal!).Message);
        Assert.Equal(new WebhookRefusal("events", WebhookRule.AtLeastOneEvent), WebhookRules.CheckEvents([]).Refusal);
    }

    [Fact]
    public void Listing_with_both_cursors_or_a_bad_limit_is_refused()
    {
        // As OnceHub's reference words them; both cursors name no param.
        var both = WebhookRules.CheckListQuery("5", "WHK-A", "WHK-B").Error;
        Assert.Equal(((int?)400, (string?)null, "Received both before and after parameters. Please provide only one."), (both?.Status, both?.Param, both?.Message));
        Assert.Equal("Out of range value: -1. Please provide a number between 1 and 100.",
            WebhookRules.CheckListQuery("-1", null, null).Error?.Message);
        Assert.Equal("Out of range value: a?b. Please provide a number between 1 and 100.", WebhookRules.CheckListQuery("a\nb", null, null).Error?.Message);
        Assert.Equal("limit", WebhookRules.CheckListQuery("-1", null, null).Error?.Param);
        Assert.Equal("limit", WebhookRules.CheckListQuery(new ListQuery(101)).Error?.Param);
        Assert.Equal(10, WebhookRules.CheckListQuery(null, "", "").Value!.Limit);
    }

    [Fact]
    public void Options_are_validated_with_the_option_named()
    {
        static string Fails(OnceHubClientOptions o) => Assert.Throws<ArgumentException>(() => OnceHubClient.Create(o)).Message;

        Assert.Contains("ApiKey", Fails(new OnceHubClientOptions { ApiKey = " " }));
        Assert.Contains("BaseUrl", Fails(new OnceHubClientOptions { ApiKey = "k", BaseUrl = new Uri("ftp://api.example.com") }));
        Assert.Contains("loopback", Fails(new OnceHubClientOptions { ApiKey = "k", BaseUrl = new Uri("http://api.example.com/v2") }));
        Assert.Contains("MaxAttempts", Fails(new OnceHubClientOptions { ApiKey = "k", MaxAttempts = 0 }));
        Assert.Contains("AttemptTimeout", Fails(new OnceHubClientOptions { ApiKey = "k", AttemptTimeout = TimeSpan.Zero }));
        using var fine = OnceHubClient.Create(new OnceHubClientOptions { ApiKey = "k" });
        Assert.NotNull(fine);
    }

    [Fact]
    public void Keys_and_secrets_never_reach_ToString()
    {
        const string key = "key-abcdef0123456789";
        var secret = WebhookRules.NewSecret();
        Secrets.AssertAbsent(new OnceHubClientOptions { ApiKey = key }.ToString(), key);
        Secrets.AssertAbsent(new EmulatorOptions { ApiKey = key }.ToString(), key);
        Secrets.AssertAbsent(new Webhook("WHK-1", "n", "https://a", ["booking"], "v2", DateTimeOffset.UnixEpoch, secret).ToString(), secret);
        Secrets.AssertAbsent(new StoredWebhook("WHK-1", "n", "https://a", ["booking"], "v2", DateTimeOffset.UnixEpoch, secret).ToString(), secret);
    }

    [Theory]
    [InlineData(new[] { "--api-key", "k" }, "'--port' is required")]
    [InlineData(new[] { "--port", "70000", "--api-key", "k" }, "--port must be")]
    [InlineData(new[] { "--port", "0" }, "API key is required")]
    [InlineData(new[] { "--port", "0", "--api-key", "k", "--rate-limit", "0" }, "--rate-limit")]
    [InlineData(new[] { "--port", "0", "--api-key", "k", "--address-limit", "0" }, "--address-limit")]
    [InlineData(new[] { "--port", "0", "--api-key", "k", "--latency-ms", "-5" }, "--latency-ms")]
    [InlineData(new[] { "--port", "0", "--api-key", "k", "--bogus" }, "'--bogus'")]
    [InlineData(new[] { "--api-key", "k", "--port" }, "'--port'")]
    public void Bad_emulator_flags_are_one_line_errors(string[] args, string fragment)
    {
        var (options, error) = EmulatorCommandLine.Parse(args, apiKeyFromEnvironment: null);
        Assert.Null(options);
        Assert.Contains(fragment, error);
        Assert.DoesNotContain('\n', error!);
    }

    [Fact]
    public void Emulator_flags_parse_and_the_key_may_come_from_the_environment()
    {
        var (options, error) = EmulatorCommandLine.Parse(
            ["--port", "8123", "--data", "acct", "--allow-insecure-urls", "--rate-limit", "2.5", "--address-limit", "50", "--latency-ms", "40"], "env-key");
        Assert.Null(error);
        Assert.Equal(
            new EmulatorOptions
            {
                ApiKey = "env-key",
                Port = 8123,
                DataDirectory = Path.Combine(Environment.CurrentDirectory, "acct"),
                AllowInsecureUrls = true,
                RateLimitPerSecond = 2.5,
                AddressLimit = 50,
                Latency = TimeSpan.FromMilliseconds(40),
            },
            options);
    }

    [Fact]
    public void Local_delivery_flags_parse_into_the_delivery_settings_and_exclude_each_other()
    {
        var (plain, _) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k"], null);
        Assert.Null(plain!.LocalDelivery);

        var (virtualTime, _) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k", "--deliver", "--virtual-time", "--attempt-timeout", "2.5"], null);
        Assert.True(virtualTime!.LocalDelivery!.Deliver);
        Assert.True(virtualTime.LocalDelivery.Time.IsVirtual);
        Assert.Equal(TimeSpan.FromSeconds(2.5), virtualTime.LocalDelivery.AttemptTimeout);

        var (scaled, _) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k", "--time-scale", "300"], null);
        Assert.False(scaled!.LocalDelivery!.Deliver);
        Assert.Equal(300, scaled.LocalDelivery.Time.Scale);

        var (both, error) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k", "--time-scale", "3", "--virtual-time"], null);
        Assert.Null(both);
        Assert.Contains("exclude each other", error);
        var (_, badTimeout) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k", "--attempt-timeout", "601"], null);
        Assert.Contains("--attempt-timeout", badTimeout);
    }

    [Fact]
    public void From_the_command_line_the_documented_limits_are_on_unless_turned_off()
    {
        var (limited, _) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k"], null);
        Assert.Equal(new EmulatorOptions { ApiKey = "k" }.WithDocumentedLimits(), limited);
        Assert.Equal(5, limited!.RateLimitPerSecond);
        Assert.Equal(200, limited.AddressLimit);
        Assert.Equal(TimeSpan.FromMinutes(5), limited.AddressLimitWindow);

        var (open, _) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k", "--no-rate-limits"], null);
        Assert.Null(open!.RateLimitPerSecond);
        Assert.Null(open.AddressLimit);

        // In process, nothing is limited unless asked: every test shares 127.0.0.1.
        Assert.Null(new EmulatorOptions().RateLimitPerSecond);
        Assert.Null(new EmulatorOptions().AddressLimit);
    }

    [Fact]
    public void Help_and_version_are_not_errors()
    {
        Assert.Equal((null, null), EmulatorCommandLine.Parse(["--help"], null));
        Assert.Equal((null, null), EmulatorCommandLine.Parse(["--version"], null));
    }

    [Theory]
    [InlineData(2049, null)]
    [InlineData(30, '\u0007')]
    public void Emulator_only_bounds_refuse_long_or_control_character_urls(int length, char? control)
    {
        var value = new string('a', length);
        if (control is { } c)
        {
            value = value[..5] + c + value[5..];
        }

        var url = "https://h.example.com/" + value;
        var refusal = EmulatorRules.CheckUrl(url);
        Assert.Equal(("url", (int?)400), (refusal?.Param, refusal?.Status));
        // The shared rules, which the provider's preview uses, stay OnceHub's documented ones: they
        // accept what OnceHub documents no limit for.
        if (control is null)
        {
            Assert.Null(WebhookRules.CheckCreate("n", url, ["booking"], allowInsecureUrls: false).Refusal);
        }
    }

    [Fact]
    public void The_redacting_and_secret_reading_modes_are_flags()
    {
        var (plain, _) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k"], null);
        Assert.False(plain!.RedactDeleted);
        Assert.False(plain.SecretOnReads);
        var (modes, _) = EmulatorCommandLine.Parse(["--port", "0", "--api-key", "k", "--redact-deleted", "--secret-on-reads"], null);
        Assert.True(modes!.RedactDeleted);
        Assert.True(modes.SecretOnReads);
    }
}
