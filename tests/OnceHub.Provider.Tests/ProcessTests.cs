using Google.Protobuf.WellKnownTypes;
using OnceHub.Emulator;
using OnceHub.Provider.Tests.Harness;
using OnceHub.TestSupport;
using Pulumirpc;
using Xunit.Abstractions;

namespace OnceHub.Provider.Tests;

/// <summary>
/// The published plugin as its own process, for what only a process shows: the port line and nothing
/// else on stdout, the engine's flags, its signals, cold start and what reaches stderr.
/// </summary>
[Collection(PluginCollection.Name)]
public sealed class ProcessTests(PluginBuild build, ITestOutputHelper output)
{
    [Fact]
    public async Task Prints_only_its_port_then_answers_handshake_and_plugin_info()
    {
        await using var session = await ProviderSession.StartProcessAsync(build);
        var plugin = session.Plugin!;
        output.WriteLine($"cold start (exec -> port line): {plugin.ColdStart.TotalMilliseconds:F0} ms ({(build.NativeAot ? "Native AOT" : "framework-dependent")})");

        var handshake = await session.Client.HandshakeAsync(new ProviderHandshakeRequest { EngineAddress = session.Engine.Address });
        Assert.True(handshake.AcceptSecrets);
        Assert.True(handshake.AcceptResources);
        Assert.True(handshake.SupportsAutonamingConfiguration);

        var info = await session.Client.GetPluginInfoAsync(new Empty());
        Assert.Equal(BuildStamp.SemVer, info.Version);
        Assert.Equal("", plugin.StdoutAfterPort);
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
    public async Task Logs_reach_the_engine_given_on_the_command_line()
    {
        // No Handshake here: the address on the command line is all the plugin has.
        await using var engine = await FakeEngine.StartAsync();
        await using var plugin = await PluginProcess.StartAsync(build, engine.Address);
        await plugin.Client.ConfigureAsync(new ConfigureRequest
        {
            Args = Props.Of(("apiUrl", Props.S("file:" + Directory.CreateTempSubdirectory("oncehub-cmdline-").FullName))),
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
    public async Task Secrets_never_reach_stderr_at_the_highest_verbosity()
    {
        const string apiKey = "process-key-5e0c7a1d93b2";
        const string wrongKey = "wrong-key-0d8e1f2a3b";
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = apiKey });
        await using var session = await ProviderSession.StartProcessAsync(build);
        await session.ConfigureAsync(emulator.BaseUrl.ToString(), apiKey);

        var check = await session.CheckAsync("loud", Props.Webhook(null, "https://hooks.example.com/loud", "booking"));
        var request = new CreateRequest { Urn = ProviderSession.Urn("loud"), Type = ProviderSession.WebhookType, Properties = check.Inputs };
        var created = await session.Client.CreateAsync(request);
        var secret = Props.Str(created.Properties, "secret");
        await session.Client.ReadAsync(new ReadRequest
        {
            Id = created.Id,
            Urn = ProviderSession.Urn("loud"),
            Type = ProviderSession.WebhookType,
            Properties = created.Properties,
        });
        await Rpc.FailureOf(() => session.Client.CreateAsync(request).ResponseAsync);
        await session.ConfigureAsync(emulator.BaseUrl.ToString(), wrongKey);
        await Rpc.FailureOf(() => session.Client.DeleteAsync(new DeleteRequest
        {
            Id = created.Id,
            Urn = ProviderSession.Urn("loud"),
            Type = ProviderSession.WebhookType,
        }).ResponseAsync);

        var stderr = session.Plugin!.Stderr;
        Assert.Contains(created.Id, stderr, StringComparison.Ordinal);
        foreach (var value in new[] { apiKey, wrongKey, secret })
        {
            Assert.DoesNotContain(value, stderr, StringComparison.Ordinal);
        }

        Assert.Equal("", session.Plugin.StdoutAfterPort);
    }

    [Fact]
    public async Task Cancel_shuts_the_plugin_down_cleanly()
    {
        await using var session = await ProviderSession.StartProcessAsync(build);
        await session.Client.CancelAsync(new Empty());
        Assert.True(await session.Plugin!.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the plugin did not exit after Cancel");
        Assert.Equal(0, session.Plugin.ExitCode);
        Assert.Equal("", session.Plugin.StdoutAfterPort);
    }

    [Fact]
    public async Task Sigterm_shuts_the_plugin_down_cleanly()
    {
        Assert.False(OperatingSystem.IsWindows(), "SIGTERM is a Unix signal; this suite runs on Linux");
        await using var session = await ProviderSession.StartProcessAsync(build);
        using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", session.Plugin!.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.True(await session.Plugin.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the plugin did not exit on SIGTERM");
        Assert.Equal(0, session.Plugin.ExitCode);
    }
}
