using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using OnceHub.Provider.Tests.Harness;
using OnceHub.TestSupport;
using Pulumirpc;

namespace OnceHub.Provider.Tests;

/// <summary>The provider's configuration, in process: each test its own provider, as each stack gets its own plugin.</summary>
public sealed class ConfigTests
{
    private const string Key = "cfg-key-7c1e93b0d54a";

    private static CheckRequest ConfigCheck(params (string Key, Value Value)[] news) => new()
    {
        Urn = "urn:pulumi:dev::oncehub-webhooks::pulumi:providers:oncehub::default",
        News = Props.Of(news),
    };

    [Fact]
    public async Task CheckConfig_accepts_good_configurations_and_returns_them_unchanged()
    {
        await using var session = await ProviderSession.StartAsync();
        var good = new[]
        {
            ConfigCheck(("apiUrl", Props.S("file:./.oncehub/dev-account")), ("allowInsecureUrls", Props.S("true"))),
            ConfigCheck(("apiKey", Props.Secret(Props.S(Key)))),
            ConfigCheck(("apiUrl", Props.S("http://127.0.0.1:5000/v2")), ("apiKey", Props.S(Key)), ("allowInsecureUrls", Value.ForBool(false))),
            ConfigCheck(("apiUrl", Props.S("file:///var/tmp/oncehub-account"))),
        };
        foreach (var request in good)
        {
            var response = await session.Client.CheckConfigAsync(request);
            Assert.Empty(response.Failures);
            Assert.Equal(request.News, response.Inputs);
        }
    }

    [Theory]
    [InlineData("apiUrl", "ftp://example.com", "apiUrl must be an https URL")]
    [InlineData("apiUrl", "http://api.example.com/v2", "plain http is accepted only for a loopback address")]
    [InlineData("apiUrl", "not a url", "apiUrl must be an https URL")]
    [InlineData("apiUrl", "file:", "names no folder")]
    [InlineData("allowInsecureUrls", "maybe", "allowInsecureUrls must be a boolean")]
    [InlineData("apiKey", "   ", "apiKey must not be blank")]
    public async Task CheckConfig_names_the_bad_key(string key, string value, string reason)
    {
        await using var session = await ProviderSession.StartAsync();
        var request = ConfigCheck(("apiKey", Props.S(Key)), (key, Props.S(value)));
        var response = await session.Client.CheckConfigAsync(request);
        var failure = Assert.Single(response.Failures);
        Assert.Equal(key, failure.Property);
        Assert.Contains(reason, failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_api_key_fails_for_http_urls_only_and_the_environment_variable_fills_it()
    {
        await using var session = await ProviderSession.StartAsync();
        var missing = await session.Client.CheckConfigAsync(ConfigCheck(("apiUrl", Props.S("https://api.oncehub.com/v2"))));
        var failure = Assert.Single(missing.Failures);
        Assert.Equal("apiKey", failure.Property);
        Assert.Contains("ONCEHUB_API_KEY", failure.Reason, StringComparison.Ordinal);

        var configure = await Rpc.FailureOf(() => session.Client.ConfigureAsync(new ConfigureRequest()).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, configure.StatusCode);
        Assert.Contains("apiKey is required", configure.Detail, StringComparison.Ordinal);

        var local = await session.Client.CheckConfigAsync(ConfigCheck(("apiUrl", Props.S("file:./account"))));
        Assert.Empty(local.Failures);

        await using var withEnv = await ProviderSession.StartAsync(environment: new Dictionary<string, string> { ["ONCEHUB_API_KEY"] = Key });
        var fromEnv = await withEnv.Client.CheckConfigAsync(ConfigCheck());
        Assert.Empty(fromEnv.Failures);
    }

    [Fact]
    public async Task Configure_reads_old_style_variables_and_secret_wrapped_args()
    {
        var folder = Directory.CreateTempSubdirectory("oncehub-cfg-").FullName;
        await using var session = await ProviderSession.StartAsync();

        var viaVariables = new ConfigureRequest();
        viaVariables.Variables["oncehub:config:apiUrl"] = "file:" + folder;
        viaVariables.Variables["oncehub:config:allowInsecureUrls"] = "true";
        var response = await session.Client.ConfigureAsync(viaVariables);
        Assert.True(response.AcceptSecrets);
        Assert.True(response.SupportsPreview);

        // allowInsecureUrls from the variables took effect: a loopback http url passes Check.
        var check = await session.CheckAsync("local", Props.Webhook("local", "http://127.0.0.1:5080/hooks", "booking"));
        Assert.Empty(check.Failures);

        var viaArgs = new ConfigureRequest
        {
            Args = Props.Of(("apiUrl", Props.Secret(Props.S("file:" + folder))), ("allowInsecureUrls", Props.Secret(Value.ForBool(false)))),
        };
        await session.Client.ConfigureAsync(viaArgs);
        var refused = await session.CheckAsync("local", Props.Webhook("local", "http://127.0.0.1:5080/hooks", "booking"));
        Assert.Equal("url", Assert.Single(refused.Failures).Property);
    }

    [Fact]
    public async Task DiffConfig_replaces_the_provider_only_when_the_account_changes_and_never_shows_the_key()
    {
        await using var session = await ProviderSession.StartAsync();
        var olds = Props.Of(("apiUrl", Props.S("https://api.oncehub.com/v2")), ("apiKey", Props.Secret(Props.S(Key))));

        var keyOnly = await session.Client.DiffConfigAsync(new DiffRequest
        {
            Olds = olds,
            OldInputs = olds,
            News = Props.Of(("apiUrl", Props.S("https://api.oncehub.com/v2")), ("apiKey", Props.Secret(Props.S(Key + "-rotated")))),
        });
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffSome, keyOnly.Changes);
        Assert.Empty(keyOnly.Replaces);
        Assert.Equal(PropertyDiff.Types.Kind.Update, keyOnly.DetailedDiff["apiKey"].Kind);
        Assert.DoesNotContain(Key, keyOnly.ToString(), StringComparison.Ordinal);

        var account = await session.Client.DiffConfigAsync(new DiffRequest
        {
            Olds = olds,
            OldInputs = olds,
            News = Props.Of(("apiUrl", Props.S("https://eu.api.example.com/v2")), ("apiKey", Props.Secret(Props.S(Key)))),
        });
        Assert.Equal(["apiUrl"], account.Replaces);

        var same = await session.Client.DiffConfigAsync(new DiffRequest { Olds = olds, OldInputs = olds, News = olds });
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffNone, same.Changes);

        // Spelling out the defaults is the same account: replacing the provider would replace every webhook.
        var implicitDefaults = Props.Of(("apiKey", Props.Secret(Props.S(Key))));
        var spelledOut = await session.Client.DiffConfigAsync(new DiffRequest
        {
            Olds = implicitDefaults,
            OldInputs = implicitDefaults,
            News = Props.Of(("apiUrl", Props.S("https://api.oncehub.com/v2")), ("apiKey", Props.Secret(Props.S(Key))), ("allowInsecureUrls", Value.ForBool(false))),
        });
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffNone, spelledOut.Changes);
        Assert.Empty(spelledOut.Replaces);
    }
}
