using Grpc.Core;
using Pulumirpc;

namespace OnceHub.Provider.Tests.Harness;

/// <summary>A fake engine and a plugin started against it, handshaken; the unit most tests work with.</summary>
public sealed class ProviderSession : IAsyncDisposable
{
    public const string WebhookType = "oncehub:index:Webhook";

    private ProviderSession(FakeEngine engine, PluginProcess plugin)
    {
        Engine = engine;
        Plugin = plugin;
    }

    public FakeEngine Engine { get; }

    public PluginProcess Plugin { get; }

    public ResourceProvider.ResourceProviderClient Client => Plugin.Client;

    public static async Task<ProviderSession> StartAsync(
        PluginBuild build, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var engine = await FakeEngine.StartAsync();
        try
        {
            var plugin = await PluginProcess.StartAsync(build, engine.Address, workingDirectory: workingDirectory, environment: environment);
            var session = new ProviderSession(engine, plugin);
            await session.Client.HandshakeAsync(new ProviderHandshakeRequest { EngineAddress = engine.Address });
            return session;
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    public static string Urn(string name, string type = WebhookType) => $"urn:pulumi:dev::oncehub-webhooks::{type}::{name}";

    public Task<ConfigureResponse> ConfigureAsync(string apiUrl, string? apiKey = null, bool allowInsecureUrls = false)
    {
        var args = Props.Of(("apiUrl", Props.S(apiUrl)), ("allowInsecureUrls", Google.Protobuf.WellKnownTypes.Value.ForBool(allowInsecureUrls)));
        if (apiKey is not null)
        {
            args.Fields["apiKey"] = Props.Secret(Props.S(apiKey));
        }

        return Client.ConfigureAsync(new ConfigureRequest { Args = args, AcceptSecrets = true, AcceptResources = true }).ResponseAsync;
    }

    public Task<CheckResponse> CheckAsync(string name, Google.Protobuf.WellKnownTypes.Struct news, byte[]? seed = null, Google.Protobuf.WellKnownTypes.Struct? olds = null) =>
        Client.CheckAsync(new CheckRequest
        {
            Urn = Urn(name),
            Name = name,
            Type = WebhookType,
            News = news,
            Olds = olds ?? new(),
            RandomSeed = Google.Protobuf.ByteString.CopyFrom(seed ?? [1, 2, 3, 4]),
        }).ResponseAsync;

    /// <summary>Runs a call expected to fail and returns its status.</summary>
    public static async Task<Status> FailureOf<T>(Func<Task<T>> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        return e.Status;
    }

    public async ValueTask DisposeAsync()
    {
        await Plugin.DisposeAsync();
        await Engine.DisposeAsync();
    }
}
