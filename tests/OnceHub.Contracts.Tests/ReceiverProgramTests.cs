using System.Text;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Tests;

public sealed class ReceiverProgramTests : IDisposable
{
    private const string Secret = "program-test-secret";
    private readonly string _dir = Directory.CreateTempSubdirectory("oncehub-receiver-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Run(int Exit, string Out, string Err);

    private static async Task<Run> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await ReceiverProgram.RunAsync(args, stdout, stderr);
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    // A database with one unparseable body and one poison event in quarantine, as a running receiver leaves it.
    private async Task<string> QuarantineTwoAsync()
    {
        var db = Path.Combine(_dir, "events.db");
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions
        {
            Secrets = [Secret],
            Store = ReceiverStore.Sqlite(db),
            MaxHandlerFailures = 1,
            OnEvent = (_, _) => throw new InvalidOperationException("handler bug"),
        });
        foreach (var body in new[] { Encoding.UTF8.GetBytes("{\"id\": \"EVNT-A\", /* no */ }"), ContractResources.ReadSample("booking.no_show") })
        {
            using var response = await ReferenceReceiverTests.PostAsync(receiver.Url, body, new WebhookSigner(Secret).CreateHeader(body));
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        }
        return db;
    }

    [Fact]
    public async Task Quarantine_list_shows_entries_and_replay_hands_them_over()
    {
        var db = await QuarantineTwoAsync();

        // --store sqlite:PATH, and --db PATH as its short form
        var list = await RunAsync("quarantine", "list", "--store", "sqlite:" + db);
        Assert.Equal(0, list.Exit);
        var lines = list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Contains("not strict JSON", lines[0], StringComparison.Ordinal);
        Assert.Contains("EVNT-N05H0WX007", lines[1], StringComparison.Ordinal);
        Assert.Contains("handler failed 1 times", lines[1], StringComparison.Ordinal);

        var unusable = await RunAsync("quarantine", "replay", "1", "--db", db);
        Assert.Equal(1, unusable.Exit);
        Assert.Contains("cannot be handed over", unusable.Err, StringComparison.Ordinal);

        var replayed = await RunAsync("quarantine", "replay", "2", "--db", db);
        Assert.Equal(0, replayed.Exit);
        Assert.Contains("EVNT-N05H0WX007", replayed.Out, StringComparison.Ordinal);

        var after = await RunAsync("quarantine", "list", "--db", db);
        Assert.Single(after.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var all = await RunAsync("quarantine", "list", "--db", db, "--all");
        Assert.Contains("replayed", all.Out, StringComparison.Ordinal);

        var show = await RunAsync("quarantine", "show", "1", "--db", db);
        Assert.Equal(0, show.Exit);
        Assert.Equal("{\"id\": \"EVNT-A\", /* no */ }", show.Out);
    }

    [Fact]
    public async Task Quarantine_delete_removes_an_entry_for_good()
    {
        var db = await QuarantineTwoAsync();

        var deleted = await RunAsync("quarantine", "delete", "1", "--store", "sqlite:" + db);
        Assert.Equal(0, deleted.Exit);
        Assert.Contains("deleted quarantine entry 1", deleted.Out, StringComparison.Ordinal);

        var all = await RunAsync("quarantine", "list", "--all", "--db", db);
        var left = Assert.Single(all.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("2\t", left, StringComparison.Ordinal);
        var again = await RunAsync("quarantine", "delete", "1", "--db", db);
        Assert.Equal(1, again.Exit);
        Assert.Contains("no quarantine entry 1", again.Err, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--port", "70000")]
    [InlineData("--port", "abc")]
    [InlineData("--bogus")]
    [InlineData("--secret")]
    [InlineData("--secret", "")]
    [InlineData("quarantine", "replay", "abc", "--db", "x.db")]
    [InlineData("quarantine", "replay", "0", "--db", "x.db")]
    [InlineData("quarantine", "list")]
    [InlineData("quarantine", "list", "--db", "")]
    [InlineData("quarantine", "explode", "--db", "x.db")]
    [InlineData("--store", "redis:x")]
    [InlineData("--store", "sqlite:")]
    [InlineData("--store", "postgres:")]
    [InlineData("--effects", "--secret", "s", "--store", "sqlite:x.db")]
    [InlineData("--lease-seconds", "0", "--secret", "s")]
    [InlineData("--store", "postgres:Not A Keyword=1")]
    [InlineData("--store", "events.db")]
    [InlineData("quarantine", "list", "--store", "memory")]
    public async Task Bad_input_exits_2_with_a_message_and_no_stack_trace(params string[] args)
    {
        var run = await RunAsync(args);
        Assert.Equal(2, run.Exit);
        Assert.StartsWith("error: ", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_PostgreSQL_store_that_does_not_answer_fails_the_verb_naming_the_server_and_never_the_password()
    {
        var run = await RunAsync("quarantine", "list", "--store", "postgres:Host=127.0.0.1;Port=1;Username=app;Password=hunter2;Timeout=2");

        Assert.Equal(1, run.Exit);
        Assert.StartsWith("error: --store: the PostgreSQL store postgres:Host=127.0.0.1;Port=1;Username=app", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", run.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_database_file_is_bad_input_and_is_not_created()
    {
        var missing = Path.Combine(_dir, "nope.db");
        var run = await RunAsync("quarantine", "list", "--db", missing);
        Assert.Equal(2, run.Exit);
        Assert.Contains("no such file", run.Err, StringComparison.Ordinal);
        Assert.False(File.Exists(missing));
    }

    [Fact]
    public async Task Version_and_help_exit_0()
    {
        var version = await RunAsync("--version");
        Assert.Equal(0, version.Exit);
        Assert.Equal(BuildStamp.Informational, version.Out.Trim());

        var help = await RunAsync("--help");
        Assert.Equal(0, help.Exit);
        Assert.Contains("quarantine", help.Out, StringComparison.Ordinal);
        Assert.Contains("--secret", help.Out, StringComparison.Ordinal);
    }
}
