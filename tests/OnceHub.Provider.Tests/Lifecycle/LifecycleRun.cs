using Google.Protobuf.WellKnownTypes;
using OnceHub.Account;
using OnceHub.Emulator;
using OnceHub.TestSupport;
using Pulumirpc;
using Xunit.Abstractions;

namespace OnceHub.Provider.Tests.Lifecycle;

/// <summary>Which OnceHub account a case runs against.</summary>
public enum AccountKind
{
    /// <summary>The emulator over http, with an API key.</summary>
    Emulator,

    /// <summary>A file-backed local account named by a path relative to the provider's working directory.</summary>
    RelativeFileAccount,
}

/// <summary>
/// One case of the table: a name, an account and the steps the engine takes, each asserting its outcome, and
/// for a case against the emulator in one of its modes, the emulator's options.
/// </summary>
public sealed record LifecycleCase(string Name, AccountKind Account, IReadOnlyList<Step> Steps, EmulatorOptions? Emulator = null)
{
    public override string ToString() => Name;
}

/// <summary>
/// A case in progress: the provider (in process, at the highest verbosity) and its fake engine, the
/// account, and what earlier steps returned.
/// </summary>
public sealed class LifecycleRun(ProviderSession session, ITestOutputHelper output) : IAsyncDisposable
{
    public const string ApiKey = "lifecycle-key-3b9f27c4e815";
    public const string RelativeAccount = "file:./.oncehub/dev-account";

    private EmulatorServer? _emulator;
    private string? _accountFolder;

    public ProviderSession Session { get; } = session;

    public ResourceProvider.ResourceProviderClient Client => Session.Client;

    public ITestOutputHelper Output { get; } = output;

    /// <summary>The emulator, for cases that run against it.</summary>
    public EmulatorServer Emulator => _emulator ?? throw new InvalidOperationException("this case runs against a file account");

    /// <summary>Values that must never appear in a log: API keys used, signing secrets returned.</summary>
    public List<string> Sensitive { get; } = [];

    /// <summary>The logical name, the program's inputs and the checked inputs of the last successful Check.</summary>
    public string Logical { get; set; } = "";

    public Struct News { get; set; } = new();

    public Struct Inputs { get; set; } = new();

    public CreateResponse? Created { get; set; }

    public ReadResponse? Refreshed { get; set; }

    public int WebhookCount => _emulator?.WebhookCount
        ?? (Directory.Exists(_accountFolder) ? new FileAccountStore(_accountFolder, new AccountStoreOptions()).Snapshot().Count : 0);

    /// <summary>Requests the API saw (a file account has no requests to count: 0).</summary>
    public int RequestCount => _emulator?.RequestCount ?? 0;

    public string? AccountFolder => _accountFolder;

    /// <param name="account">The account the case runs against.</param>
    /// <param name="output">The test's output.</param>
    /// <param name="start">Starts the provider in a working directory (null: any); by default hosted in this process.</param>
    /// <param name="emulatorOptions">How the emulator answers (null: as OnceHub does by default).</param>
    public static async Task<LifecycleRun> StartAsync(
        AccountKind account, ITestOutputHelper output, Func<string?, Task<ProviderSession>>? start = null,
        EmulatorOptions? emulatorOptions = null)
    {
        start ??= workingDirectory => ProviderSession.StartAsync(workingDirectory);
        if (account == AccountKind.Emulator)
        {
            var emulator = await EmulatorServer.StartAsync((emulatorOptions ?? new EmulatorOptions()) with { ApiKey = ApiKey });
            var session = await start(null);
            var run = new LifecycleRun(session, output) { _emulator = emulator };
            run.Sensitive.Add(ApiKey);
            await session.ConfigureAsync(emulator.BaseUrl.ToString(), ApiKey);
            return run;
        }

        var project = Directory.CreateTempSubdirectory("oncehub-project-").FullName;
        var local = await start(project);
        await local.ConfigureAsync(RelativeAccount);
        return new LifecycleRun(local, output) { _accountFolder = Path.Combine(project, ".oncehub", "dev-account") };
    }

    public Task ConfigureAsync(string apiKey)
    {
        Sensitive.Add(apiKey);
        return Session.ConfigureAsync(Emulator.BaseUrl.ToString(), apiKey);
    }

    public string Urn => ProviderSession.Urn(Logical);

    public async ValueTask DisposeAsync()
    {
        await Session.DisposeAsync();
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }
}
