using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Pulumirpc;

namespace OnceHub.TestSupport;

/// <summary>
/// A fake engine and a provider talking to it, handshaken: the provider hosted in this process, or the
/// published plugin started as its own process. The unit most tests work with.
/// </summary>
public sealed class ProviderSession : IAsyncDisposable
{
    public const string WebhookType = "oncehub:index:Webhook";

    private readonly IAsyncDisposable _provider;
    private readonly Func<string> _log;

    private ProviderSession(FakeEngine engine, ResourceProvider.ResourceProviderClient client, IAsyncDisposable provider, Func<string> log)
    {
        Engine = engine;
        Client = client;
        _provider = provider;
        _log = log;
    }

    public FakeEngine Engine { get; }

    public ResourceProvider.ResourceProviderClient Client { get; }

    /// <summary>The published plugin, for a session started with one of the StartProcessAsync methods; else null.</summary>
    public PluginProcess? Plugin => _provider as PluginProcess;

    /// <summary>What the provider logged at the highest verbosity: its stderr, or its log lines in process.</summary>
    public string Log => _log();

    /// <summary>The provider in this process (every call the engine makes, none of the process around it).</summary>
    public static Task<ProviderSession> StartAsync(string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(async engine =>
        {
            var provider = await InProcessProvider.StartAsync(engine.Address, workingDirectory, environment);
            return (provider.Client, provider, () => provider.Log);
        });

    /// <summary>The published plugin started as the engine starts it, at the highest verbosity.</summary>
    public static Task<ProviderSession> StartProcessAsync(
        PluginBuild build, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(async engine =>
        {
            var plugin = await PluginProcess.StartAsync(build, engine.Address, workingDirectory: workingDirectory, environment: environment);
            return (plugin.Client, plugin, () => plugin.Stderr);
        });

    /// <summary>A plugin executable (one unpacked from a release archive, say) started as the engine starts it.</summary>
    public static Task<ProviderSession> StartProcessAsync(
        string binary, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null) =>
        StartAsync(async engine =>
        {
            var plugin = await PluginProcess.StartAsync(binary, engine.Address, null, workingDirectory, environment);
            return (plugin.Client, plugin, () => plugin.Stderr);
        });

    public static string Urn(string name, string type = WebhookType) => $"urn:pulumi:dev::oncehub-webhooks::{type}::{name}";

    public Task<ConfigureResponse> ConfigureAsync(string apiUrl, string? apiKey = null, bool allowInsecureUrls = false)
    {
        var args = Props.Of(("apiUrl", Props.S(apiUrl)), ("allowInsecureUrls", Value.ForBool(allowInsecureUrls)));
        if (apiKey is not null)
        {
            args.Fields["apiKey"] = Props.Secret(Props.S(apiKey));
        }

        return Client.ConfigureAsync(new ConfigureRequest { Args = args, AcceptSecrets = true, AcceptResources = true }).ResponseAsync;
    }

    public Task<CheckResponse> CheckAsync(string name, Struct news, byte[]? seed = null, Struct? olds = null) =>
        Client.CheckAsync(new CheckRequest
        {
            Urn = Urn(name),
            Name = name,
            Type = WebhookType,
            News = news,
            Olds = olds ?? new(),
            RandomSeed = ByteString.CopyFrom(seed ?? [1, 2, 3, 4]),
        }).ResponseAsync;

    /// <summary>Check then Create of one webhook, as the engine runs them; throws when Check reports a failure.</summary>
    public async Task<CreateResponse> CreateWebhookAsync(string name, string url, string events)
    {
        var check = await CheckAsync(name, Props.Webhook(name, url, events));
        if (check.Failures.Count > 0)
        {
            throw new InvalidOperationException($"Check refused {name}: " + string.Join("; ", check.Failures.Select(f => $"{f.Property}: {f.Reason}")));
        }
        return await Client.CreateAsync(new CreateRequest { Urn = Urn(name), Name = name, Type = WebhookType, Properties = check.Inputs });
    }

    public async ValueTask DisposeAsync()
    {
        await _provider.DisposeAsync();
        await Engine.DisposeAsync();
    }

    private static async Task<ProviderSession> StartAsync(
        Func<FakeEngine, Task<(ResourceProvider.ResourceProviderClient Client, IAsyncDisposable Provider, Func<string> Log)>> start)
    {
        var engine = await FakeEngine.StartAsync();
        try
        {
            var (client, provider, log) = await start(engine);
            var session = new ProviderSession(engine, client, provider, log);
            await session.Client.HandshakeAsync(new ProviderHandshakeRequest { EngineAddress = engine.Address });
            return session;
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }
}
