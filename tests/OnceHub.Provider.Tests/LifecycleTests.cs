using Grpc.Core;
using OnceHub.Account;
using OnceHub.Emulator;
using OnceHub.Provider.Tests.Harness;
using Pulumirpc;
using Xunit.Abstractions;

namespace OnceHub.Provider.Tests;

/// <summary>The whole life of a webhook, driven over gRPC as the engine drives it.</summary>
[Collection(PluginCollection.Name)]
public sealed class LifecycleTests(PluginBuild build, ITestOutputHelper output)
{
    private const string ApiKey = "lifecycle-key-3b9f27c4e815";
    private const string Url = "https://hooks.example.com/oncehub";

    [Fact]
    public async Task Against_the_emulator_over_http()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = ApiKey });
        await using var session = await ProviderSession.StartAsync(build);
        await session.ConfigureAsync(emulator.BaseUrl.ToString(), ApiKey);

        var secret = await RunLifecycle(session, () => emulator.WebhookCount, () => emulator.RequestCount);
        AssertNothingLeaked(session, [ApiKey, secret]);
    }

    [Fact]
    public async Task Against_a_local_file_account_given_by_a_relative_path()
    {
        var project = Directory.CreateTempSubdirectory("oncehub-project-").FullName;
        await using var session = await ProviderSession.StartAsync(build, workingDirectory: project);
        await session.ConfigureAsync("file:./.oncehub/dev-account");

        var account = Path.Combine(project, ".oncehub", "dev-account");
        var secret = await RunLifecycle(session, () => CountIn(account), () => 0);
        Assert.True(Directory.Exists(account), "the relative file: path was not resolved against the working directory");
        AssertNothingLeaked(session, [secret]);
    }

    [Fact]
    public async Task A_dropped_create_response_leaves_exactly_one_webhook_with_a_known_secret()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = ApiKey });
        await using var session = await ProviderSession.StartAsync(build);
        await session.ConfigureAsync(emulator.BaseUrl.ToString(), ApiKey);

        emulator.Faults.DropNextCreateResponses(1);
        var created = await Create(session, "dropped", preview: false);

        var only = Assert.Single(emulator.Webhooks);
        Assert.Equal(only.Id, created.Id);
        Assert.Equal(only.Secret, Props.Str(created.Properties, "secret"));
        output.WriteLine(string.Join("\n", emulator.Requests));
    }

    [Fact]
    public async Task When_every_create_answer_is_lost_one_webhook_remains_and_the_user_is_warned()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = ApiKey });
        await using var session = await ProviderSession.StartAsync(build);
        await session.ConfigureAsync(emulator.BaseUrl.ToString(), ApiKey);

        emulator.Faults.DropNextCreateResponses(2);
        var created = await Create(session, "unlucky", preview: false);

        Assert.Equal(created.Id, Assert.Single(emulator.Webhooks).Id);
        Assert.False(created.Properties.Fields.ContainsKey("secret"));
        Assert.Contains(session.Engine.Logs, l => l.Severity == LogSeverity.Warning && l.Message.Contains(created.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Api_errors_arrive_as_one_clear_sentence()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = ApiKey });
        await using var session = await ProviderSession.StartAsync(build);

        await session.ConfigureAsync(emulator.BaseUrl.ToString(), ApiKey);
        await Create(session, "taken", preview: false);
        var conflict = await ProviderSession.FailureOf(() => Create(session, "taken", preview: false));
        Assert.Equal(StatusCode.AlreadyExists, conflict.StatusCode);
        Assert.Contains("A webhook subscription with this name already exists: 'taken'", conflict.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', conflict.Detail);
        Assert.Equal(1, emulator.WebhookCount);

        await session.ConfigureAsync(emulator.BaseUrl.ToString(), "wrong-key-0d8e1f2a3b");
        var denied = await ProviderSession.FailureOf(() => Create(session, "other", preview: false));
        Assert.Equal(StatusCode.Unauthenticated, denied.StatusCode);
        Assert.Contains("oncehub:apiKey", denied.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key-0d8e1f2a3b", denied.Detail, StringComparison.Ordinal);
        Assert.Equal(1, emulator.WebhookCount);
        AssertNothingLeaked(session, [ApiKey, "wrong-key-0d8e1f2a3b"]);
    }

    // Read through the account's own store; a folder not there yet holds nothing (and is not created here).
    private static int CountIn(string account) =>
        Directory.Exists(account) ? new FileAccountStore(account, new AccountStoreOptions()).Snapshot().Count : 0;

    private static async Task<CreateResponse> Create(ProviderSession session, string name, bool preview)
    {
        var check = await session.CheckAsync(name, Props.Webhook(name, Url, "booking", "conversation.closed"));
        Assert.Empty(check.Failures);
        return await session.Client.CreateAsync(new CreateRequest
        {
            Urn = ProviderSession.Urn(name),
            Name = name,
            Type = ProviderSession.WebhookType,
            Properties = check.Inputs,
            Preview = preview,
        });
    }

    /// <summary>Check, preview, create, refresh, import, delete, delete again; returns the secret.</summary>
    private async Task<string> RunLifecycle(ProviderSession session, Func<int> webhookCount, Func<int> requestCount)
    {
        var check = await session.CheckAsync("bookings", Props.Webhook(null, Url, "booking", "conversation.closed", "booking"));
        Assert.Empty(check.Failures);
        var name = Props.Str(check.Inputs, "name");

        // Preview: no API call, unknowns for what only OnceHub knows.
        var requestsBefore = requestCount();
        var planned = await session.Client.CreateAsync(new CreateRequest
        {
            Urn = ProviderSession.Urn("bookings"),
            Name = "bookings",
            Type = ProviderSession.WebhookType,
            Properties = check.Inputs,
            Preview = true,
        });
        Assert.Equal("", planned.Id);
        Assert.True(Props.IsUnknown(Props.Plain(planned.Properties.Fields["secret"])));
        Assert.True(Props.IsSecret(planned.Properties.Fields["secret"]));
        Assert.True(Props.IsUnknown(planned.Properties.Fields["apiVersion"]));
        Assert.True(Props.IsUnknown(planned.Properties.Fields["creationTime"]));
        Assert.Equal(name, Props.Str(planned.Properties, "name"));
        Assert.Equal(0, webhookCount());
        Assert.Equal(requestsBefore, requestCount());

        var created = await session.Client.CreateAsync(new CreateRequest
        {
            Urn = ProviderSession.Urn("bookings"),
            Name = "bookings",
            Type = ProviderSession.WebhookType,
            Properties = check.Inputs,
        });
        Assert.StartsWith("WHK-", created.Id, StringComparison.Ordinal);
        Assert.True(Props.IsSecret(created.Properties.Fields["secret"]));
        var secret = Props.Str(created.Properties, "secret");
        Assert.Matches("^[0-9a-f]{32,}$", secret);
        Assert.Equal("v2", Props.Str(created.Properties, "apiVersion"));
        Assert.True(DateTimeOffset.TryParse(Props.Str(created.Properties, "creationTime"), out _));
        Assert.Equal(["booking", "conversation.closed"], Props.List(created.Properties, "events"));
        Assert.Equal(1, webhookCount());
        output.WriteLine($"created {created.Id} named {name}");

        // Refresh: live state; the API does not return the secret, the state keeps it.
        var refreshed = await session.Client.ReadAsync(new ReadRequest
        {
            Id = created.Id,
            Urn = ProviderSession.Urn("bookings"),
            Type = ProviderSession.WebhookType,
            Properties = created.Properties,
            Inputs = check.Inputs,
        });
        Assert.Equal(created.Id, refreshed.Id);
        Assert.Equal(secret, Props.Str(refreshed.Properties, "secret"));
        Assert.True(Props.IsSecret(refreshed.Properties.Fields["secret"]));
        Assert.Equal(Url, Props.Str(refreshed.Inputs, "url"));

        // Diff of the refreshed state against the same inputs: nothing to do.
        var diff = await session.Client.DiffAsync(new DiffRequest
        {
            Id = created.Id,
            Urn = ProviderSession.Urn("bookings"),
            Type = ProviderSession.WebhookType,
            Olds = refreshed.Properties,
            OldInputs = refreshed.Inputs,
            News = check.Inputs,
        });
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffNone, diff.Changes);

        // Import: only an id; the inputs come back so the program can be compared.
        var imported = await session.Client.ReadAsync(new ReadRequest
        {
            Id = created.Id,
            Urn = ProviderSession.Urn("adopted"),
            Type = ProviderSession.WebhookType,
        });
        Assert.Equal(created.Id, imported.Id);
        Assert.Equal(name, Props.Str(imported.Inputs, "name"));
        Assert.Equal(Url, Props.Str(imported.Inputs, "url"));
        Assert.Equal(["booking", "conversation.closed"], Props.List(imported.Inputs, "events"));
        Assert.False(imported.Properties.Fields.ContainsKey("secret"));

        await session.Client.DeleteAsync(new DeleteRequest
        {
            Id = created.Id,
            Urn = ProviderSession.Urn("bookings"),
            Type = ProviderSession.WebhookType,
            Properties = created.Properties,
        });
        Assert.Equal(0, webhookCount());

        // Gone: a refresh answers an empty id; deleting again is success.
        var missing = await session.Client.ReadAsync(new ReadRequest
        {
            Id = created.Id,
            Urn = ProviderSession.Urn("bookings"),
            Type = ProviderSession.WebhookType,
            Properties = created.Properties,
        });
        Assert.Equal("", missing.Id);
        await session.Client.DeleteAsync(new DeleteRequest
        {
            Id = created.Id,
            Urn = ProviderSession.Urn("bookings"),
            Type = ProviderSession.WebhookType,
        });

        Assert.Contains(session.Engine.Logs, l => l.Message.Contains($"deleted webhook {created.Id}", StringComparison.Ordinal));
        Assert.Contains(session.Engine.Logs, l => l.Message.Contains("already gone", StringComparison.Ordinal));
        return secret;
    }

    private static void AssertNothingLeaked(ProviderSession session, IEnumerable<string> sensitive)
    {
        var logs = string.Join("\n", session.Engine.Logs.Select(l => l.Message));
        var stderr = session.Plugin.Stderr;
        Assert.NotEmpty(stderr);
        foreach (var value in sensitive)
        {
            Assert.DoesNotContain(value, stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(value, logs, StringComparison.Ordinal);
        }

        Assert.Equal("", session.Plugin.StdoutAfterPort);
    }
}
