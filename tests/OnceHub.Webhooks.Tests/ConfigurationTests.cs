using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace OnceHub.Webhooks.Tests;

public sealed class ConfigurationTests
{
    private static OnceHubWebhookOptions Bind(params (string Key, string Value)[] values)
    {
        var options = new OnceHubWebhookOptions();
        options.BindFrom(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build());
        return options;
    }

    public static TheoryData<string, string[], string[], string> Sources => new()
    {
        { "section as an array", ["OnceHub:Webhooks:Secrets:0", "OnceHub:Webhooks:Secrets:1"], ["old", "new"], "OnceHub:Webhooks:Secrets" },
        // how OnceHub__Webhooks__Secrets=old,new arrives from the environment
        { "section as one comma-separated value", ["OnceHub:Webhooks:Secrets"], ["old, new"], "OnceHub:Webhooks:Secrets" },
        { "ONCEHUB_WEBHOOK_SECRETS", ["ONCEHUB_WEBHOOK_SECRETS"], ["old,new,"], "ONCEHUB_WEBHOOK_SECRETS" },
    };

    [Theory]
    [MemberData(nameof(Sources))]
    public void Secrets_are_read_from_each_documented_source(string source, string[] keys, string[] values, string expectedSource)
    {
        var options = Bind([.. keys.Zip(values)]);

        Assert.True(options.Secrets is ["old", "new"], source + ": " + string.Join("|", options.Secrets));
        Assert.Equal(expectedSource, options.SecretsSource);
    }

    [Fact]
    public void The_single_secret_variable_keeps_working_and_the_section_wins_over_the_variables()
    {
        Assert.Equal(["only"], Bind(("ONCEHUB_WEBHOOK_SECRET", "only")).Secrets);
        var both = Bind(("ONCEHUB_WEBHOOK_SECRET", "legacy"), ("ONCEHUB_WEBHOOK_SECRETS", "a,b"), ("OnceHub:Webhooks:Secrets:0", "section"));
        Assert.Equal(["section"], both.Secrets);
        Assert.Equal(["a", "b"], Bind(("ONCEHUB_WEBHOOK_SECRET", "legacy"), ("ONCEHUB_WEBHOOK_SECRETS", "a,b")).Secrets);
    }

    [Fact]
    public void Settings_are_read_and_a_bad_value_is_named_with_its_key_and_rule()
    {
        var good = Bind(("OnceHub:Webhooks:Secrets", "s"), ("OnceHub:Webhooks:ToleranceSeconds", "60"), ("OnceHub:Webhooks:MaxBodyBytes", "4096"),
            ("OnceHub:Webhooks:InFlightLeaseSeconds", "30"), ("OnceHub:Webhooks:MaxHandlerFailures", "3"), ("OnceHub:Webhooks:Store", "inmemory"),
            ("OnceHub:Webhooks:SqliteSynchronous", "full"));
        Assert.Equal((TimeSpan.FromSeconds(60), 4096, TimeSpan.FromSeconds(30), 3, WebhookStoreKind.InMemory, SqliteSynchronous.Full),
            (good.Tolerance, good.MaxBodyBytes, good.InFlightLease, good.MaxHandlerFailures, good.Store, good.SqliteSynchronous));
        Assert.Equal((SqliteSynchronous.Normal, TimeSpan.FromDays(30)), (Bind(("OnceHub:Webhooks:Secrets", "s")).SqliteSynchronous, Bind().SettledRetention));
        Assert.Equal(TimeSpan.FromDays(7), Bind(("OnceHub:Webhooks:SettledRetentionDays", "7")).SettledRetention);
        Assert.Equal((false, true), (Bind().SkipStaleEvents, Bind(("OnceHub:Webhooks:SkipStaleEvents", "True")).SkipStaleEvents));

        var bad = Bind(("OnceHub:Webhooks:Secrets", "s"), ("OnceHub:Webhooks:MaxBodyBytes", "lots"), ("OnceHub:Webhooks:Store", "Redis"),
            ("OnceHub:Webhooks:SqliteSynchronous", "OFF"), ("OnceHub:Webhooks:SkipStaleEvents", "yes"));
        var result = new OnceHubWebhookOptionsValidator().Validate(null, bad);
        Assert.True(result.Failed);
        Assert.Contains("OnceHub:Webhooks:MaxBodyBytes must be a whole number from 1 to 67108864, got 'lots'", result.Failures!);
        Assert.Contains("OnceHub:Webhooks:Store must be Sqlite, InMemory or PostgreSql, got 'Redis'", result.Failures!);
        Assert.Contains("OnceHub:Webhooks:SqliteSynchronous must be Normal or Full, got 'OFF'", result.Failures!);
        Assert.Contains("OnceHub:Webhooks:SkipStaleEvents must be true or false, got 'yes'", result.Failures!);
    }

    [Fact]
    public async Task An_app_without_any_secret_does_not_start_and_says_where_to_put_one()
    {
        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => LibraryHost.StartAsync(new Dictionary<string, string?>()));

        Assert.Contains("no webhook secret is configured: set OnceHub:Webhooks:Secrets, ONCEHUB_WEBHOOK_SECRETS (comma-separated) or ONCEHUB_WEBHOOK_SECRET",
            failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mapping_the_endpoint_without_registering_the_services_says_what_is_missing()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        await using var app = builder.Build();

        var failure = Assert.Throws<InvalidOperationException>(() => app.MapOnceHubWebhooks("/webhooks/oncehub"));

        Assert.Equal("call builder.Services.AddOnceHubWebhooks() before app.MapOnceHubWebhooks(...)", failure.Message);
    }
}
