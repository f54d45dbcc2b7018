using System.Diagnostics;
using System.Text;
using OnceHub.Account;
using OnceHub.TestSupport;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>
/// The built programs, started in a folder of their own, resolve every relative path they are given against that
/// folder, and every error about a path names the absolute path it resolved.
/// </summary>
public sealed class RelativePathTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private readonly string _cwd = Directory.CreateTempSubdirectory("oncehub-cwd-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_cwd, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder must not fail a test.
        }
    }

    [Fact]
    public async Task The_emulator_keeps_a_relative_data_folder_where_it_was_started()
    {
        using var emulator = Start("OnceHub.Emulator.dll", "--port", "0", "--api-key", "k", "--data", ".oncehub/dev-account");
        Assert.True(await Eventually.HoldsWithinAsync(() => emulator.Out.ToString().Contains("http://127.0.0.1:", StringComparison.Ordinal), Deadline),
            "the emulator printed no URL: " + emulator.Err);
        Assert.True(File.Exists(Path.Combine(_cwd, ".oncehub", "dev-account", DeliveryStore.FileName)),
            "the account is in the folder the emulator was started in");
    }

    [Fact]
    public async Task The_receiver_serves_a_relative_account_of_the_folder_it_was_started_in()
    {
        var port = LoopbackPort.Free();
        var store = new FileAccountStore(Path.Combine(_cwd, ".oncehub", "dev-account"), new AccountStoreOptions { AllowInsecureUrls = true });
        Assert.True(store.Create("bookings", $"http://127.0.0.1:{port}/webhooks/oncehub/bookings", ["booking"]).IsSuccess);

        using var receiver = Start("OnceHub.Contracts.Receiver.dll", "--account", "file:.oncehub/dev-account");
        Assert.True(await Eventually.HoldsWithinAsync(() => receiver.Out.ToString().Contains("listening on", StringComparison.Ordinal), Deadline),
            "the receiver did not start: " + receiver.Err);
        Assert.Contains($"http://127.0.0.1:{port}/webhooks/oncehub/bookings", receiver.Out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_account_is_named_by_its_absolute_path_in_the_cli_and_the_receiver()
    {
        var expected = Path.Combine(_cwd, "nowhere");

        using var cli = Start("OnceHub.Contracts.Cli.dll", "deliveries", "--account", "file:nowhere");
        Assert.Equal(2, await cli.ExitAsync());
        Assert.Contains($"'{expected}'", cli.Err.ToString(), StringComparison.Ordinal);

        using var receiver = Start("OnceHub.Contracts.Receiver.dll", "--account", "file:nowhere");
        Assert.Equal(2, await receiver.ExitAsync());
        Assert.Contains($"'{expected}'", receiver.Err.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(expected), "a mistyped account is not created");
    }

    [Fact]
    public async Task Files_given_relative_are_read_from_and_reported_at_the_starting_folder()
    {
        await File.WriteAllTextAsync(Path.Combine(_cwd, "payload.json"), "{}");
        using var sign = Start("OnceHub.Contracts.Cli.dll", "sign", "--secret", "s", "--timestamp", "1", "payload.json");
        Assert.Equal(0, await sign.ExitAsync());
        Assert.StartsWith("t=1,s=", sign.Out.ToString(), StringComparison.Ordinal);

        using var missing = Start("OnceHub.Contracts.Cli.dll", "validate", "absent.json");
        Assert.Equal(2, await missing.ExitAsync());
        Assert.Contains($"'{Path.Combine(_cwd, "absent.json")}'", missing.Err.ToString(), StringComparison.Ordinal);

        using var report = Start("OnceHub.Contracts.Cli.dll", "verify", "--report", "out/contract.xml");
        Assert.Equal(2, await report.ExitAsync());
        Assert.Contains($"'{Path.Combine(_cwd, "out", "contract.xml")}'", report.Err.ToString(), StringComparison.Ordinal);

        using var db = Start("OnceHub.Contracts.Receiver.dll", "quarantine", "list", "--db", "events.db");
        Assert.Equal(2, await db.ExitAsync());
        Assert.Contains($"'{Path.Combine(_cwd, "events.db")}'", db.Err.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("infra/OnceHub.Emulator")]
    [InlineData("contracts/OnceHub.Contracts.Receiver")]
    public async Task Dotnet_run_starts_a_web_program_in_the_callers_folder(string project)
    {
        // The Web SDK's default would run it in the project's folder; an empty RunWorkingDirectory keeps the caller's.
        var start = DotnetCommand.StartInfo("dotnet", Repository.Root, ["msbuild", project, "-getProperty:RunWorkingDirectory", "-nologo"]);
        using var msbuild = new Child(Process.Start(start)!);
        Assert.Equal(0, await msbuild.ExitAsync(TimeSpan.FromSeconds(120)));
        Assert.Equal("", msbuild.Out.ToString().Trim());
    }

    private Child Start(string dll, params string[] args)
    {
        var path = Path.Combine(AppContext.BaseDirectory, dll);
        Assert.True(File.Exists(path), $"built next to the tests: {path}");
        var start = DotnetCommand.StartInfo("dotnet", _cwd, [path, .. args]);
        start.Environment.Remove(OnceHub.Webhooks.OnceHubWebhookOptions.SecretVariable);
        return new Child(Process.Start(start)!);
    }

    /// <summary>A started program whose output is collected as it comes; disposing kills what still runs.</summary>
    private sealed class Child : IDisposable
    {
        private readonly Process _process;

        public Child(Process process)
        {
            _process = process;
            process.OutputDataReceived += (_, line) => Append(Out, line.Data);
            process.ErrorDataReceived += (_, line) => Append(Err, line.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public StringBuilder Out { get; } = new();

        public StringBuilder Err { get; } = new();

        public async Task<int> ExitAsync(TimeSpan? timeout = null)
        {
            using var limit = new CancellationTokenSource(timeout ?? Deadline);
            await _process.WaitForExitAsync(limit.Token);
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
            _process.Dispose();
        }

        private static void Append(StringBuilder to, string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (to)
            {
                to.AppendLine(line);
            }
        }
    }
}
