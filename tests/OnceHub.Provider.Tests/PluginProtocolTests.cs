using System.Text.Json.Nodes;
using System.Xml.Linq;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using OnceHub.Events;
using OnceHub.Provider.Tests.Harness;
using Pulumirpc;
using Xunit.Abstractions;

namespace OnceHub.Provider.Tests;

[Collection(PluginCollection.Name)]
public sealed class PluginProtocolTests(PluginBuild build, ITestOutputHelper output)
{
    [Fact]
    public async Task Prints_only_its_port_then_answers_handshake_and_plugin_info()
    {
        await using var session = await ProviderSession.StartAsync(build);
        output.WriteLine($"cold start (exec -> port line): {session.Plugin.ColdStart.TotalMilliseconds:F0} ms ({(build.NativeAot ? "Native AOT" : "framework-dependent")})");

        var handshake = await session.Client.HandshakeAsync(new ProviderHandshakeRequest { EngineAddress = session.Engine.Address });
        Assert.True(handshake.AcceptSecrets);
        Assert.True(handshake.AcceptResources);
        Assert.True(handshake.SupportsAutonamingConfiguration);

        var info = await session.Client.GetPluginInfoAsync(new Empty());
        var props = XDocument.Load(Path.Combine(build.RepoRoot, "Directory.Build.props"));
        Assert.Equal(props.Descendants("Version").Single().Value, info.Version);
        Assert.Equal("", session.Plugin.StdoutAfterPort);
    }

    [Fact]
    public async Task Schema_is_valid_against_Pulumis_metaschema_and_describes_the_webhook()
    {
        await using var session = await ProviderSession.StartAsync(build);
        var text = (await session.Client.GetSchemaAsync(new GetSchemaRequest())).Schema;

        var metaschema = await SchemaValidation.LoadAsync("package.schema.json");
        var errors = metaschema.Validate(text);
        Assert.True(errors.Count == 0, SchemaValidation.Describe(errors));

        // The validator is not vacuous: a type Pulumi does not know is refused.
        var broken = JsonNode.Parse(text)!;
        broken["resources"]!["oncehub:index:Webhook"]!["inputProperties"]!["url"]!["type"] = "text";
        Assert.NotEmpty(metaschema.Validate(broken.ToJsonString()));

        var schema = JsonNode.Parse(text)!;
        Assert.Equal("oncehub", (string?)schema["name"]);
        var webhook = schema["resources"]!["oncehub:index:Webhook"]!;
        Assert.Equal(["url", "events"], webhook["requiredInputs"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(["name", "url", "events"], webhook["inputProperties"]!.AsObject().Select(p => p.Key));
        Assert.Equal(
            ["name", "url", "events", "secret", "apiVersion", "creationTime"],
            webhook["properties"]!.AsObject().Select(p => p.Key));
        Assert.True((bool)webhook["properties"]!["secret"]!["secret"]!);
        Assert.True((bool)schema["config"]!["variables"]!["apiKey"]!["secret"]!);
        Assert.Contains("Duplicate events", (string)webhook["properties"]!["events"]!["description"]!);

        var enumValues = schema["types"]!["oncehub:index:WebhookEvent"]!["enum"]!.AsArray().Select(e => (string)e!["value"]!);
        Assert.Equal(EventCatalog.SubscribableNames, enumValues);

        // A description on every item the schema declares.
        var described = new List<JsonNode?>
        {
            schema, schema["provider"], webhook, schema["types"]!["oncehub:index:WebhookEvent"],
        };
        described.AddRange(schema["config"]!["variables"]!.AsObject().Select(p => p.Value));
        described.AddRange(schema["provider"]!["inputProperties"]!.AsObject().Select(p => p.Value));
        described.AddRange(webhook["inputProperties"]!.AsObject().Select(p => p.Value));
        described.AddRange(webhook["properties"]!.AsObject().Select(p => p.Value));
        described.AddRange(schema["types"]!["oncehub:index:WebhookEvent"]!["enum"]!.AsArray());
        Assert.All(described, n => Assert.False(string.IsNullOrWhiteSpace((string?)n!["description"])));
    }

    [Fact]
    public async Task Rpcs_it_does_not_offer_answer_unimplemented()
    {
        await using var session = await ProviderSession.StartAsync(build);
        var invoke = new Method<Empty, Empty>(MethodType.Unary, "pulumirpc.ResourceProvider", "Invoke",
            Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom), Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom));
        var e = await Assert.ThrowsAsync<RpcException>(() => session.Plugin.Channel.CreateCallInvoker()
            .AsyncUnaryCall(invoke, null, new CallOptions(), new Empty()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
    }

    [Fact]
    public async Task Accepts_the_engines_flags_and_ignores_unknown_ones()
    {
        await using var engine = await FakeEngine.StartAsync();
        await using var plugin = await PluginProcess.StartAsync(build, engine.Address,
            flags: ["--logtostderr", "-v=3", "--tracing", "127.0.0.1:9", "--some-future-flag", "--other=x"]);
        var info = await plugin.Client.GetPluginInfoAsync(new Empty());
        Assert.False(string.IsNullOrEmpty(info.Version));
    }

    [Fact]
    public async Task Logs_reach_the_engine_given_on_the_command_line_or_by_attach()
    {
        await using var session = await ProviderSession.StartAsync(build);
        await session.ConfigureAsync("file:" + Directory.CreateTempSubdirectory("oncehub-attach-").FullName);
        Assert.Contains(session.Engine.Logs, l => l.Message.Contains("oncehub: using the local account", StringComparison.Ordinal));

        // Debug attach: started with no engine address, told it by Attach.
        await using var engine = await FakeEngine.StartAsync();
        await using var plugin = await PluginProcess.StartAsync(build, engineAddress: null);
        await plugin.Client.AttachAsync(new PluginAttach { Address = engine.Address });
        await plugin.Client.ConfigureAsync(new ConfigureRequest
        {
            Args = Props.Of(("apiUrl", Props.S("file:" + Directory.CreateTempSubdirectory("oncehub-attach-").FullName))),
        });
        Assert.Contains(engine.Logs, l => l.Message.Contains("oncehub: using the local account", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Writes_nothing_to_stderr_without_verbose_flags()
    {
        // The engine shows a plugin's stderr to the user: a normal run must leave it empty.
        await using var engine = await FakeEngine.StartAsync();
        await using var plugin = await PluginProcess.StartAsync(build, engine.Address, flags: []);
        var folder = Directory.CreateTempSubdirectory("oncehub-quiet-").FullName;
        await plugin.Client.ConfigureAsync(new ConfigureRequest { Args = Props.Of(("apiUrl", Props.S("file:" + folder))) });
        var check = await plugin.Client.CheckAsync(new CheckRequest
        {
            Urn = ProviderSession.Urn("quiet"),
            Name = "quiet",
            Type = ProviderSession.WebhookType,
            News = Props.Webhook(null, "https://hooks.example.com/q", "booking"),
        });
        var created = await plugin.Client.CreateAsync(new CreateRequest
        {
            Urn = ProviderSession.Urn("quiet"),
            Type = ProviderSession.WebhookType,
            Properties = check.Inputs,
        });
        await plugin.Client.DeleteAsync(new DeleteRequest { Id = created.Id, Urn = ProviderSession.Urn("quiet"), Type = ProviderSession.WebhookType });
        await plugin.Client.CancelAsync(new Empty());
        Assert.True(await plugin.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("", plugin.Stderr);
        Assert.Contains(engine.Logs, l => l.Message.Contains($"created webhook {created.Id}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancel_shuts_the_plugin_down_cleanly()
    {
        await using var session = await ProviderSession.StartAsync(build);
        await session.Client.CancelAsync(new Empty());
        Assert.True(await session.Plugin.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the plugin did not exit after Cancel");
        Assert.Equal(0, session.Plugin.ExitCode);
        Assert.Equal("", session.Plugin.StdoutAfterPort);
    }

    [Fact]
    public async Task Sigterm_shuts_the_plugin_down_cleanly()
    {
        Assert.False(OperatingSystem.IsWindows(), "SIGTERM is a Unix signal; this suite runs on Linux");
        await using var session = await ProviderSession.StartAsync(build);
        using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", session.Plugin.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.True(await session.Plugin.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the plugin did not exit on SIGTERM");
        Assert.Equal(0, session.Plugin.ExitCode);
    }

    [Fact]
    public async Task Update_and_unknown_types_answer_clear_errors()
    {
        await using var session = await ProviderSession.StartAsync(build);
        var update = await ProviderSession.FailureOf(() => session.Client.UpdateAsync(new UpdateRequest
        {
            Id = "WHK-X",
            Urn = ProviderSession.Urn("hooks"),
            Type = ProviderSession.WebhookType,
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, update.StatusCode);
        Assert.Contains("cannot be updated in place", update.Detail, StringComparison.Ordinal);

        var check = await ProviderSession.FailureOf(() => session.Client.CheckAsync(new CheckRequest
        {
            Urn = ProviderSession.Urn("x", "oncehub:index:Nope"),
            Type = "oncehub:index:Nope",
            News = new Struct(),
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, check.StatusCode);
        Assert.Contains("oncehub:index:Nope", check.Detail, StringComparison.Ordinal);
    }
}
