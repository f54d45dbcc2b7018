using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using OnceHub.Events;
using OnceHub.Provider.Tests.Harness;
using OnceHub.TestSupport;
using Pulumirpc;

namespace OnceHub.Provider.Tests;

/// <summary>What the provider answers over gRPC beyond the webhook's lifecycle, in process.</summary>
public sealed class ProtocolTests(ProviderFixture provider) : IClassFixture<ProviderFixture>
{
    private readonly ProviderSession _session = provider.Session;

    [Fact]
    public async Task Schema_is_valid_against_Pulumis_metaschema_and_describes_the_webhook()
    {
        var text = (await _session.Client.GetSchemaAsync(new GetSchemaRequest())).Schema;

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

        // The record of defaulted inputs lives in the state only, never in the package.
        Assert.DoesNotContain("__defaults", text, StringComparison.Ordinal);
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
        await using var own = await InProcessProvider.StartAsync(engineAddress: null);
        var invoke = new Method<Empty, Empty>(MethodType.Unary, "pulumirpc.ResourceProvider", "Invoke",
            Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom), Marshallers.Create(m => m.ToByteArray(), Empty.Parser.ParseFrom));
        var e = await Assert.ThrowsAsync<RpcException>(() => own.Channel.CreateCallInvoker()
            .AsyncUnaryCall(invoke, null, new CallOptions(), new Empty()).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
    }

    [Fact]
    public async Task Update_and_unknown_types_answer_clear_errors()
    {
        var update = await Rpc.FailureOf(() => _session.Client.UpdateAsync(new UpdateRequest
        {
            Id = "WHK-X",
            Urn = ProviderSession.Urn("hooks"),
            Type = ProviderSession.WebhookType,
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, update.StatusCode);
        Assert.Contains("cannot be updated in place", update.Detail, StringComparison.Ordinal);

        var check = await Rpc.FailureOf(() => _session.Client.CheckAsync(new CheckRequest
        {
            Urn = ProviderSession.Urn("x", "oncehub:index:Nope"),
            Type = "oncehub:index:Nope",
            News = new Struct(),
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, check.StatusCode);
        Assert.Contains("oncehub:index:Nope", check.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_reach_an_engine_given_by_attach()
    {
        // Debug attach: started with no engine address, told it by Attach.
        await using var engine = await FakeEngine.StartAsync();
        await using var own = await InProcessProvider.StartAsync(engineAddress: null);
        await own.Client.AttachAsync(new PluginAttach { Address = engine.Address });
        await own.Client.ConfigureAsync(new ConfigureRequest
        {
            Args = Props.Of(("apiUrl", Props.S("file:" + Directory.CreateTempSubdirectory("oncehub-attach-").FullName))),
        });
        Assert.Contains(engine.Logs, l => l.Message.Contains("oncehub: using the local account", StringComparison.Ordinal));
    }
}
