using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using OnceHub.Provider.Tests.Harness;
using OnceHub.TestSupport;
using Pulumirpc;
using Changes = Pulumirpc.DiffResponse.Types.DiffChanges;

namespace OnceHub.Provider.Tests.Lifecycle;

/// <summary>One thing the engine asks of the provider, with what the answer must be.</summary>
public abstract record Step
{
    public abstract Task RunAsync(LifecycleRun run);

    protected static CreateRequest CreateRequest(LifecycleRun run, Struct properties, bool preview) => new()
    {
        Urn = run.Urn,
        Name = run.Logical,
        Type = ProviderSession.WebhookType,
        Properties = properties,
        Preview = preview,
    };
}

/// <summary>
/// Check (with the last checked inputs as olds, for the same logical name) passes; the name is
/// <paramref name="Name"/> (a regex when autonamed), recorded as defaulted exactly when the program
/// gave none, and the events are deduplicated as given.
/// </summary>
public sealed record Check(string Logical, string? GivenName, string[] Events, string Name, string[] CheckedEvents, string Url = Check.Https) : Step
{
    public const string Https = "https://hooks.example.com/oncehub";

    public override async Task RunAsync(LifecycleRun run)
    {
        var news = Props.Webhook(GivenName, Url, Events);
        var olds = run.Logical == Logical ? run.Inputs : null;
        var response = await run.Session.CheckAsync(Logical, news, olds: olds);
        Assert.Empty(response.Failures);
        Assert.Matches($"^{Name}$", Props.Str(response.Inputs, "name"));
        Assert.Equal(CheckedEvents, Props.List(response.Inputs, "events"));
        Assert.Equal(Url, Props.Str(response.Inputs, "url"));
        Assert.Equal(GivenName is null ? ["name"] : [], Props.List(response.Inputs, "__defaults"));
        if (GivenName is null && olds is not null)
        {
            // A name the provider chose earlier stays, and stays recorded as chosen.
            Assert.Equal(Props.Str(olds, "name"), Props.Str(response.Inputs, "name"));
        }

        run.Logical = Logical;
        run.News = news;
        run.Inputs = response.Inputs;
    }
}

/// <summary>
/// The engine's second Check before a replacement: the same program inputs, no olds, this update's
/// seed (not the one the old webhook was named with). An autoname comes out fresh, still recorded as chosen.
/// </summary>
public sealed record ReCheck(byte[] Seed) : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var before = Props.Str(run.Inputs, "name");
        var response = await run.Session.CheckAsync(run.Logical, run.News, seed: Seed);
        Assert.Empty(response.Failures);
        Assert.Matches($"^{run.Logical}-[a-z0-9]{{7}}$", Props.Str(response.Inputs, "name"));
        Assert.NotEqual(before, Props.Str(response.Inputs, "name"));
        Assert.Equal(["name"], Props.List(response.Inputs, "__defaults"));
        run.Inputs = response.Inputs;
    }
}

/// <summary>Create with preview: no API call; the inputs as checked and unknowns for what only OnceHub knows, the secret marked secret.</summary>
public sealed record Preview : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var (webhooks, requests) = (run.WebhookCount, run.RequestCount);
        var planned = await run.Client.CreateAsync(CreateRequest(run, run.Inputs, preview: true));
        Assert.Equal("", planned.Id);
        Assert.True(Props.IsSecret(planned.Properties.Fields["secret"]));
        Assert.True(Props.IsUnknown(Props.Plain(planned.Properties.Fields["secret"])));
        Assert.True(Props.IsUnknown(planned.Properties.Fields["apiVersion"]));
        Assert.True(Props.IsUnknown(planned.Properties.Fields["creationTime"]));
        foreach (var input in new[] { "name", "url", "events" })
        {
            Assert.Equal(run.Inputs.Fields[input], planned.Properties.Fields[input]);
        }

        Assert.Equal(webhooks, run.WebhookCount);
        Assert.Equal(requests, run.RequestCount);
    }
}

/// <summary>Create: a <c>WHK-</c> id, the inputs as outputs, a secret signing secret of hex, v2, an ISO creation time; one more webhook.</summary>
public sealed record Create : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var before = run.WebhookCount;
        var created = await run.Client.CreateAsync(CreateRequest(run, run.Inputs, preview: false));
        Assert.StartsWith("WHK-", created.Id, StringComparison.Ordinal);
        Assert.True(Props.IsSecret(created.Properties.Fields["secret"]));
        var secret = Props.Str(created.Properties, "secret");
        Assert.Matches("^[0-9a-f]{32,}$", secret);
        Assert.Equal("v2", Props.Str(created.Properties, "apiVersion"));
        Assert.True(DateTimeOffset.TryParse(Props.Str(created.Properties, "creationTime"), out _));
        Assert.Equal(Props.Str(run.Inputs, "name"), Props.Str(created.Properties, "name"));
        Assert.Equal(Props.List(run.Inputs, "events"), Props.List(created.Properties, "events"));
        Assert.Equal(before + 1, run.WebhookCount);
        Assert.Contains(run.Session.Engine.Logs, l => l.Message.Contains($"created webhook {created.Id}", StringComparison.Ordinal));
        run.Sensitive.Add(secret);
        run.Created = created;
        run.Refreshed = null;
        run.Output.WriteLine($"created {created.Id} named {Props.Str(created.Properties, "name")}");
    }
}

/// <summary>Create after every create answer was lost: the one adopted webhook, no secret in the state, a warning naming it.</summary>
public sealed record CreateWithoutSecret : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var created = await run.Client.CreateAsync(CreateRequest(run, run.Inputs, preview: false));
        Assert.Equal(created.Id, Assert.Single(run.Emulator.Webhooks).Id);
        Assert.False(created.Properties.Fields.ContainsKey("secret"));
        Assert.Contains(run.Session.Engine.Logs, l => l.Severity == LogSeverity.Warning && l.Message.Contains(created.Id, StringComparison.Ordinal));
        run.Created = created;
    }
}

/// <summary>Create fails with <paramref name="Code"/> and one sentence holding <paramref name="Says"/>; no webhook added.</summary>
public sealed record CreateFails(StatusCode Code, string Says) : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var before = run.WebhookCount;
        var failure = await Rpc.FailureOf(() => run.Client.CreateAsync(CreateRequest(run, run.Inputs, preview: false)).ResponseAsync);
        Assert.Equal(Code, failure.StatusCode);
        Assert.Contains(Says, failure.Detail, StringComparison.Ordinal);
        Assert.Matches(@" \(Request-Id: req_[0-9a-f]{16}\)\.$", failure.Detail);
        Assert.DoesNotContain('\n', failure.Detail);
        Assert.All(run.Sensitive, s => Assert.DoesNotContain(s, failure.Detail, StringComparison.Ordinal));
        Assert.Equal(before, run.WebhookCount);
    }
}

/// <summary>Configure again with another API key.</summary>
public sealed record Configure(string ApiKey) : Step
{
    public override Task RunAsync(LifecycleRun run) => run.ConfigureAsync(ApiKey);
}

/// <summary>The emulator commits the next creates but drops their answers.</summary>
public sealed record DropCreateAnswers(int Count) : Step
{
    public override Task RunAsync(LifecycleRun run)
    {
        run.Emulator.Faults.DropNextCreateResponses(Count);
        return Task.CompletedTask;
    }
}

/// <summary>The account holds exactly the created webhook, with the secret the state holds.</summary>
public sealed record OnlyTheCreatedWebhookExists : Step
{
    public override Task RunAsync(LifecycleRun run)
    {
        var only = Assert.Single(run.Emulator.Webhooks);
        Assert.Equal(only.Id, run.Created!.Id);
        Assert.Equal(only.Secret, Props.Str(run.Created.Properties, "secret"));
        return Task.CompletedTask;
    }
}

/// <summary>Refresh with the state: the live webhook, the secret kept from the state (secret), the inputs read back.</summary>
public sealed record Refresh : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var created = run.Created!;
        var refreshed = await run.Client.ReadAsync(new ReadRequest
        {
            Id = created.Id,
            Urn = run.Urn,
            Type = ProviderSession.WebhookType,
            Properties = created.Properties,
            Inputs = run.Inputs,
        });
        Assert.Equal(created.Id, refreshed.Id);
        Assert.True(Props.IsSecret(refreshed.Properties.Fields["secret"]));
        Assert.Equal(Props.Str(created.Properties, "secret"), Props.Str(refreshed.Properties, "secret"));
        Assert.Equal(Props.Str(run.Inputs, "url"), Props.Str(refreshed.Inputs, "url"));
        Assert.Equal(Props.Str(run.Inputs, "name"), Props.Str(refreshed.Inputs, "name"));
        Assert.Equal(Props.List(run.Inputs, "events"), Props.List(refreshed.Inputs, "events"));

        // A refresh stores these inputs as the old ones: whether the provider chose the name survives it.
        Assert.Equal(Props.List(run.Inputs, "__defaults"), Props.List(refreshed.Inputs, "__defaults"));
        run.Refreshed = refreshed;
    }
}

/// <summary>Refresh of a deleted webhook: an empty id (the engine drops it from the state).</summary>
public sealed record RefreshFindsItGone : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var missing = await run.Client.ReadAsync(new ReadRequest
        {
            Id = run.Created!.Id,
            Urn = run.Urn,
            Type = ProviderSession.WebhookType,
            Properties = run.Created.Properties,
        });
        Assert.Equal("", missing.Id);
        Assert.Contains(run.Session.Engine.Logs, l => l.Message.Contains($"webhook {run.Created.Id} no longer exists", StringComparison.Ordinal));
    }
}

/// <summary>Import: only an id; the inputs come back so the program can be compared, and no secret (reads do not return it).</summary>
public sealed record Import : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var created = run.Created!;
        var imported = await Import.ReadAsImportAsync(run, created.Id);
        Assert.Equal(created.Id, imported.Id);
        Assert.Equal(Props.Str(created.Properties, "name"), Props.Str(imported.Inputs, "name"));
        Assert.Equal(Props.Str(created.Properties, "url"), Props.Str(imported.Inputs, "url"));
        Assert.Equal(Props.List(created.Properties, "events"), Props.List(imported.Inputs, "events"));
        Assert.False(imported.Properties.Fields.ContainsKey("secret"));

        // Who chose the name of a webhook made elsewhere is not known: the inputs do not claim either.
        Assert.False(imported.Inputs.Fields.ContainsKey("__defaults"));
        Assert.False(imported.Properties.Fields.ContainsKey("__defaults"));
    }

    /// <summary>A Read with only an id, as <c>pulumi import</c> sends it.</summary>
    internal static async Task<ReadResponse> ReadAsImportAsync(LifecycleRun run, string id) =>
        await run.Client.ReadAsync(new ReadRequest
        {
            Id = id,
            Urn = ProviderSession.Urn("adopted"),
            Type = ProviderSession.WebhookType,
        });
}

/// <summary>Import from an account whose reads return the signing secret: it becomes the secret output.</summary>
public sealed record ImportGetsTheSecret : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var created = run.Created!;
        var imported = await Import.ReadAsImportAsync(run, created.Id);
        Assert.Equal(created.Id, imported.Id);
        Assert.True(Props.IsSecret(imported.Properties.Fields["secret"]));
        Assert.Equal(Props.Str(created.Properties, "secret"), Props.Str(imported.Properties, "secret"));
    }
}

/// <summary>Delete of a webhook deleted before: success, the account unchanged.</summary>
public sealed record DeleteAgainSucceeds : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var before = run.WebhookCount;
        await run.Client.DeleteAsync(new DeleteRequest { Id = run.Created!.Id, Urn = run.Urn, Type = ProviderSession.WebhookType });
        Assert.Equal(before, run.WebhookCount);
    }
}

/// <summary>Diff of the last state (refreshed, else created) against the last checked inputs.</summary>
/// <param name="Replaces">Empty for no change.</param>
/// <param name="DeleteFirst">Whether the old webhook must go before the new one is created.</param>
public sealed record Diff(string[] Replaces, bool DeleteFirst = false) : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var logged = run.Session.Engine.Logs.Count;
        var diff = await run.Client.DiffAsync(DiffRequest(run));
        Assert.Equal(Replaces.Length == 0 ? Changes.DiffNone : Changes.DiffSome, diff.Changes);
        Assert.Equal(Replaces.Order(), diff.Replaces.Order());
        Assert.Equal(Replaces.Length > 0 && DeleteFirst, diff.DeleteBeforeReplace);
        Assert.All(run.Sensitive, s => Assert.DoesNotContain(s, diff.ToString(), StringComparison.Ordinal));

        // What the replacement costs, shown during the preview as warnings.
        var warnings = run.Session.Engine.Logs.Skip(logged).Where(l => l.Severity == LogSeverity.Warning && l.Urn == run.Urn).Select(l => l.Message).ToList();
        Assert.Equal(Replaces.Length > 0, warnings.Any(w => w.Contains("new signing secret", StringComparison.Ordinal)));
        var gap = warnings.Where(w => w.Contains("deliveries between the delete and the create are lost", StringComparison.Ordinal)).ToList();
        Assert.Equal(Replaces.Length > 0 && DeleteFirst, gap.Count == 1);
        Assert.All(gap, w => Assert.Contains("let the name be generated (remove name", w, StringComparison.Ordinal));
        Assert.Equal(Replaces.Length == 0 ? 0 : DeleteFirst ? 2 : 1, warnings.Count);
    }

    public static DiffRequest DiffRequest(LifecycleRun run) => new()
    {
        Id = run.Created!.Id,
        Urn = run.Urn,
        Type = ProviderSession.WebhookType,
        Olds = run.Refreshed?.Properties ?? run.Created.Properties,
        OldInputs = run.Refreshed?.Inputs ?? run.Created.Properties,
        News = run.Inputs,
    };
}

/// <summary>
/// A replacement as the engine runs it after a Diff that replaces: delete first then create (name
/// kept), or create first then delete (new name). The new webhook has a new id and a new signing
/// secret, and the account ends with one webhook.
/// </summary>
public sealed record Replace(bool DeleteFirst) : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var old = run.Created!;
        var diff = await run.Client.DiffAsync(Diff.DiffRequest(run));
        Assert.Equal(DeleteFirst, diff.DeleteBeforeReplace);
        Assert.NotEmpty(diff.Replaces);

        var planned = await run.Client.CreateAsync(CreateRequest(run, run.Inputs, preview: true));
        Assert.True(Props.IsUnknown(Props.Plain(planned.Properties.Fields["secret"])));

        if (DeleteFirst)
        {
            await run.Client.DeleteAsync(new DeleteRequest { Id = old.Id, Urn = run.Urn, Type = ProviderSession.WebhookType, Properties = old.Properties });
            Assert.Equal(0, run.WebhookCount);
        }

        var created = await run.Client.CreateAsync(CreateRequest(run, run.Inputs, preview: false));
        Assert.Equal(Props.Str(run.Inputs, "name"), Props.Str(created.Properties, "name"));
        Assert.False(created.Properties.Fields.ContainsKey("__defaults"));
        if (!DeleteFirst)
        {
            // Both exist until the old one is deleted: OnceHub delivers through one or the other throughout.
            Assert.NotEqual(Props.Str(old.Properties, "name"), Props.Str(created.Properties, "name"));
            Assert.Equal(2, run.WebhookCount);
            await run.Client.DeleteAsync(new DeleteRequest { Id = old.Id, Urn = run.Urn, Type = ProviderSession.WebhookType, Properties = old.Properties });
        }

        Assert.NotEqual(old.Id, created.Id);
        var secret = Props.Str(created.Properties, "secret");
        Assert.NotEqual(Props.Str(old.Properties, "secret"), secret);
        Assert.Equal(1, run.WebhookCount);
        run.Sensitive.Add(secret);
        run.Created = created;
        run.Refreshed = null;
    }
}

/// <summary>Delete: the webhook is gone and the engine is told; deleting one already gone is success, said so.</summary>
public sealed record Delete(bool AlreadyGone = false) : Step
{
    public override async Task RunAsync(LifecycleRun run)
    {
        var before = run.WebhookCount;
        var id = run.Created!.Id;
        await run.Client.DeleteAsync(new DeleteRequest
        {
            Id = id,
            Urn = run.Urn,
            Type = ProviderSession.WebhookType,
            Properties = AlreadyGone ? null : run.Created.Properties,
        });
        Assert.Equal(AlreadyGone ? before : before - 1, run.WebhookCount);
        var said = AlreadyGone ? $"webhook {id} was already gone" : $"deleted webhook {id}";
        Assert.Contains(run.Session.Engine.Logs, l => l.Message.Contains(said, StringComparison.Ordinal));
    }
}

/// <summary>The relative <c>file:</c> path was resolved against the provider's working directory.</summary>
public sealed record AccountFolderExists : Step
{
    public override Task RunAsync(LifecycleRun run)
    {
        Assert.True(Directory.Exists(run.AccountFolder), "the relative file: path was not resolved against the working directory");
        return Task.CompletedTask;
    }
}
