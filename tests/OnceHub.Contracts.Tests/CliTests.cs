using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using OnceHub.Contracts.Cli;
using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Suite;
using OnceHub.TestSupport;

namespace OnceHub.Contracts.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("oncehub-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Run(int Exit, string Out, string Err);

    private static async Task<Run> RunAsync(params string[] args) => await RunWithEnvAsync(_ => null, args);

    private static async Task<Run> RunWithEnvAsync(Func<string, string?> env, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await new CliApp(stdout, stderr, env).RunAsync(args);
        return new Run(exit, stdout.ToString(), stderr.ToString());
    }

    private string WriteFile(string name, byte[] content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    private static void AssertOneLineError(Run run)
    {
        Assert.Equal(ExitCodes.BadInput, run.Exit);
        var lines = run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Err, StringComparison.Ordinal);
        Assert.Equal("", run.Out);
    }

    [Theory]
    [InlineData("verfy", "error: unknown command 'verfy'; did you mean 'verify'? (see --help)")]
    [InlineData("deliver", "error: unknown command 'deliver'; did you mean 'deliveries'? (see --help)")]
    [InlineData("zzzzzzzzzz", "error: unknown command 'zzzzzzzzzz' (see --help)")]
    public async Task An_unknown_verb_is_named_with_the_closest_verbs(string verb, string expected)
    {
        var run = await RunAsync(verb);
        AssertOneLineError(run);
        Assert.Equal(expected, run.Err.TrimEnd());
    }

    [Theory]
    [InlineData("--time-scale", "error: --time-scale: 'abc' is not a number (see --help)")]
    [InlineData("--attempt-timeout", "error: --attempt-timeout: 'abc' is not a number (see --help)")]
    public async Task A_word_where_a_number_belongs_is_named_without_dotnet_type_names(string flag, string expected)
    {
        var run = await RunAsync("trigger", "booking.scheduled", flag, "abc");
        AssertOneLineError(run);
        Assert.Equal(expected, run.Err.TrimEnd());
    }

    [Fact]
    public async Task A_group_without_its_verb_lists_its_verbs()
    {
        var run = await RunAsync("webhooks", "enabel", "WHK-A");
        AssertOneLineError(run);
        Assert.Equal("error: unknown command 'enabel'; did you mean 'enable'? (see --help)", run.Err.TrimEnd());
    }

    [Fact]
    public async Task Verify_interrupted_prints_the_table_writes_the_report_with_unfinished_checks_skipped_and_exits_130()
    {
        await using var receiver = await TestReceiver.StartAsync(async (http, _) =>
        {
            await Task.Delay(Timeout.Infinite, http.RequestAborted);
            return 200;
        });
        var report = Path.Combine(_dir, "interrupted.xml");
        using var interrupt = new CancellationTokenSource();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var running = new CliApp(stdout, stderr).RunAsync(
            ["verify", "--target", receiver.Url.ToString(), "--secret", "s3cret", "--events", "booking.scheduled,booking.canceled", "--timeout", "30", "--report", report],
            interrupt.Token);
        Assert.True(await OnceHub.TestSupport.Eventually.HoldsWithinAsync(() => !receiver.Requests.IsEmpty, TimeSpan.FromSeconds(20)));
        await interrupt.CancelAsync();
        var exit = await running.WaitAsync(OnceHub.TestSupport.Deadline.Seconds(20));

        Assert.Equal(ExitCodes.Interrupted, exit);
        Assert.Contains("booking.canceled", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("INTERRUPTED: 16 checks, 0 failed, 16 not tried", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("verify: interrupted", stderr.ToString(), StringComparison.Ordinal);
        var root = XDocument.Load(report).Root!;
        Assert.Equal("16", root.Attribute("skipped")!.Value);
        Assert.Equal("0", root.Attribute("failures")!.Value);
        Assert.All(root.Descendants("skipped"), s => Assert.Equal("interrupted before it finished", s.Attribute("message")!.Value));
    }

    [Fact]
    public async Task Verify_without_target_checks_the_bundled_receiver_and_exits_0()
    {
        var run = await RunAsync("verify");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Contains("PASS: 97 checks, 0 failed", run.Out, StringComparison.Ordinal);
        Assert.Contains("booking.canceled_then_rescheduled", run.Out, StringComparison.Ordinal);
        Assert.Contains("started the reference receiver", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_writes_well_formed_junit_with_the_right_counts()
    {
        var report = Path.Combine(_dir, "ok.xml");
        var run = await RunAsync("verify", "--events", "booking.scheduled,conversation", "--report", report);
        Assert.Equal(ExitCodes.Ok, run.Exit);
        var suite = XDocument.Load(report).Root!.Element("testsuite")!;
        Assert.Equal("40", suite.Attribute("tests")!.Value); // 5 events x 8 checks
        Assert.Equal("0", suite.Attribute("failures")!.Value);
        Assert.Equal(40, suite.Elements("testcase").Count());
        Assert.Empty(suite.Descendants("failure"));
    }

    [Fact]
    public async Task Verify_against_a_receiver_taking_forgeries_exits_1_and_reports_each_failure()
    {
        await using var receiver = await TestReceiver.StartAsync((_, _) => Task.FromResult(200));
        var report = Path.Combine(_dir, "bad.xml");
        const string secret = "cli-secret-not-to-be-printed";

        var run = await RunAsync("verify", "--target", receiver.Url.ToString(), "--secret", secret, "--events", "booking", "--report", report);

        Assert.Equal(ExitCodes.Failed, run.Exit);
        // 8 booking events x 8 checks, and the booking lifecycle's out-of-order, which a receiver taking everything passes.
        Assert.Contains("FAIL: 65 checks, 32 failed", run.Out, StringComparison.Ordinal);
        var root = XDocument.Load(report).Root!;
        Assert.Equal("32", root.Attribute("failures")!.Value);
        var failures = root.Descendants("failure").ToList();
        Assert.Equal(32, failures.Count);
        Assert.All(failures, f => Assert.Contains(f.Parent!.Attribute("name")!.Value,
            new[] { "forged-signature", "tampered-body", "missing-signature", "stale-timestamp" }));
        Assert.DoesNotContain(secret, run.Out + run.Err + File.ReadAllText(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_takes_the_secret_from_the_environment()
    {
        const string secret = "env-secret-value";
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret] });
        var run = await RunWithEnvAsync(name => name == "ONCEHUB_WEBHOOK_SECRET" ? secret : null,
            "verify", "--target", receiver.Url.ToString(), "--events", "booking.no_show");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.DoesNotContain(secret, run.Out + run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schedule_json_has_exactly_the_documented_shape()
    {
        var run = await RunAsync("schedule", "--json");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        var expected = new StringBuilder("{\"attempts\":[");
        long[] offsets = [0, 35, 215, 4535, .. Enumerable.Range(1, 11).Select(k => 4535L + 21600L * k)];
        expected.AppendJoin(',', offsets.Select((o, i) => string.Create(CultureInfo.InvariantCulture, $"{{\"attempt\":{i + 1},\"offsetSeconds\":{o}}}")));
        expected.Append("]}");
        Assert.Equal(expected.ToString(), run.Out.TrimEnd());
        using var doc = JsonDocument.Parse(run.Out);
        Assert.Equal(["attempts"], doc.RootElement.EnumerateObject().Select(p => p.Name));
    }

    [Theory]
    [InlineData("5h", "attempt 5 at 26135 s")]
    [InlineData("30s", "attempt 2 at 35 s")]
    [InlineData("1h30m", "attempt 5 at 26135 s")]
    [InlineData("3d", "OnceHub disables the webhook")]
    [InlineData("2d19h15m35s", "the event is lost")]
    public async Task Schedule_outage_tells_the_first_attempt_after_it(string outage, string expected)
    {
        var run = await RunAsync("schedule", "--outage", outage);
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Contains(expected, run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schedule_outage_in_json_adds_the_answer()
    {
        var run = await RunAsync("schedule", "--json", "--outage", "35m");
        using var doc = JsonDocument.Parse(run.Out);
        var outage = doc.RootElement.GetProperty("outage");
        Assert.Equal(2100, outage.GetProperty("seconds").GetInt64());
        Assert.False(outage.GetProperty("lost").GetBoolean());
        Assert.Equal(4, outage.GetProperty("attempt").GetInt32());
        Assert.Equal(4535, outage.GetProperty("offsetSeconds").GetInt64());
    }

    [Fact]
    public async Task Sign_prints_the_header_for_the_exact_file_bytes()
    {
        var bytes = "{\"id\":\"EVNT-X1\"}\r\n"u8.ToArray();
        var file = WriteFile("payload.json", bytes);
        var run = await RunAsync("sign", "--secret", "k3y", "--timestamp", "1700000000", file);

        using var hmac = new HMACSHA256(Encoding.UTF8.GetBytes("k3y"));
        var mac = hmac.ComputeHash([.. "1700000000."u8.ToArray(), .. bytes]);
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Equal($"t=1700000000,s={string.Concat(mac.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)))}", run.Out.TrimEnd());
    }

    [Fact]
    public async Task Validate_exits_0_for_valid_files_and_1_listing_path_and_rule()
    {
        var good = WriteFile("good.json", ContractResources.ReadSample("booking.reassigned"));
        var node = JsonNode.Parse(ContractResources.ReadSample("conversation.closed"))!;
        node["type"] = "conversation";
        node["data"]!["object"] = "booking";
        var bad = WriteFile("bad.json", Encoding.UTF8.GetBytes(node.ToJsonString()));

        var ok = await RunAsync("validate", good);
        var failed = await RunAsync("validate", good, bad);

        Assert.Equal(ExitCodes.Ok, ok.Exit);
        Assert.Equal(ExitCodes.Failed, failed.Exit);
        Assert.Contains($"{bad}: $.type: family", failed.Out, StringComparison.Ordinal);
        Assert.Contains($"{bad}: $.data.object: family", failed.Out, StringComparison.Ordinal);
        Assert.Contains($"{good}: valid", failed.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_warns_about_an_unknown_event_type_and_exits_0()
    {
        var node = JsonNode.Parse(ContractResources.ReadSample("booking.canceled"))!;
        node["type"] = "booking.teleported";
        var file = WriteFile("future.json", Encoding.UTF8.GetBytes(node.ToJsonString()));
        node["data"]!["status"] = 3;
        var broken = WriteFile("future-broken.json", Encoding.UTF8.GetBytes(node.ToJsonString()));

        var ok = await RunAsync("validate", file);
        var failed = await RunAsync("validate", broken);

        Assert.Equal(ExitCodes.Ok, ok.Exit);
        Assert.Contains($"{file}: warning: $.type: catalog: 'booking.teleported'", ok.Out, StringComparison.Ordinal);
        Assert.Contains($"{file}: valid", ok.Out, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failed, failed.Exit);
        Assert.Contains($"{broken}: $.data.status: type", failed.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_warns_that_OnceHubs_current_reference_does_not_list_conversation_reached_out()
    {
        var reachedOut = WriteFile("reached-out.json", ContractResources.ReadSample("conversation.reached_out"));
        var started = WriteFile("started.json", ContractResources.ReadSample("conversation.started"));

        var run = await RunAsync("validate", reachedOut, started);

        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Contains($"{reachedOut}: warning: $.type: reference: 'conversation.reached_out' is not listed in OnceHub's current API reference",
            run.Out, StringComparison.Ordinal);
        Assert.Contains($"{reachedOut}: valid", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain($"{started}: warning", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Send_delivers_one_signed_sample()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = ["send-secret"] });
        var run = await RunAsync("send", "conversation.abandoned", "--target", receiver.Url.ToString(), "--secret", "send-secret");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Contains(": 200 in ", run.Out, StringComparison.Ordinal);
        Assert.Equal(1, receiver.ProcessedCount);

        var refused = await RunAsync("send", "conversation.abandoned", "--target", receiver.Url.ToString(), "--secret", "wrong");
        Assert.Equal(ExitCodes.Failed, refused.Exit);
        Assert.Contains(": 401 in ", refused.Out, StringComparison.Ordinal);
        // The receiver's own words come back with the status.
        Assert.Matches(@": 401 in \d+ ms: \S", refused.Out);
    }

    [Fact]
    public async Task Send_gives_each_send_a_fresh_id_unless_same_id()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = ["send-secret"] });
        string[] args = ["send", "booking.canceled", "--target", receiver.Url.ToString(), "--secret", "send-secret"];
        var first = await RunAsync(args);
        var second = await RunAsync(args);
        Assert.Equal(ExitCodes.Ok, second.Exit);
        Assert.Equal(2, receiver.ProcessedCount);
        Assert.NotEqual(first.Out.Split(' ')[1], second.Out.Split(' ')[1]);
        var sampleId = TestReceiver.EventId(ContractResources.ReadSample("booking.canceled"));
        Assert.NotEqual(sampleId, first.Out.Split(' ')[1]);

        await RunAsync([.. args, "--same-id"]);
        var again = await RunAsync([.. args, "--same-id"]);
        Assert.Equal(ExitCodes.Ok, again.Exit);
        Assert.Equal(3, receiver.ProcessedCount);
        Assert.Equal(1, receiver.DuplicateCount);
        Assert.Equal(sampleId, again.Out.Split(' ')[1]);
    }

    public static TheoryData<string[]> BadInputs() => new()
    {
        new[] { "frobnicate" },
        Array.Empty<string>(),
        new[] { "verify", "--bogus" },
        new[] { "verify", "--target", "not a url", "--secret", "s" },
        new[] { "verify", "--target", "ftp://example.com/x", "--secret", "s" },
        new[] { "verify", "--target", "http://127.0.0.1:1/x" },
        new[] { "verify", "--timeout", "abc" },
        new[] { "verify", "--timeout", "-1" },
        new[] { "verify", "--events", "booking.created" },
        new[] { "verify", "--report", "/nonexistent-folder-for-test/r.xml" },
        new[] { "verify", "--report", "" },
        new[] { "verify", "--report=" },
        new[] { "verify", "--timeout" },
        new[] { "schedule", "--outage", "5x" },
        new[] { "schedule", "--outage", "h5" },
        new[] { "schedule", "--outage", "" },
        new[] { "schedule", "--json=yes" },
        new[] { "schedule", "extra" },
        new[] { "sign", "--secret", "s", "--timestamp", "-5", "x.json" },
        new[] { "sign", "--secret", "s", "--timestamp", "12", "/nonexistent-folder-for-test/x.json" },
        new[] { "sign", "--timestamp", "12", "x.json" },
        new[] { "validate" },
        new[] { "validate", "/nonexistent-folder-for-test/x.json" },
        new[] { "send", "booking", "--target", "http://127.0.0.1:1/", "--secret", "s" },
        new[] { "send", "booking.scheduled", "--target", "http://127.0.0.1:1/", "--secret", "s", "--file", "/nonexistent-folder-for-test/p.json" },
        new[] { "send", "booking.scheduled", "--secret", "s" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_is_one_line_on_stderr_and_exit_2(string[] args)
    {
        AssertOneLineError(await RunAsync(args));
    }

    [Theory]
    [InlineData("verify")]
    [InlineData("send")]
    [InlineData("schedule")]
    [InlineData("sign")]
    [InlineData("validate")]
    public async Task Every_verb_has_help(string verb)
    {
        var run = await RunAsync(verb, "--help");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Contains("Usage:", run.Out, StringComparison.Ordinal);
        Assert.Contains(" " + verb + " ", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_help_states_the_wall_time_bound_and_names_every_check()
    {
        var run = await RunAsync("verify", "--help");
        Assert.Contains("timeout x (requests / concurrency + 2)", run.Out, StringComparison.Ordinal);
        Assert.Contains("--concurrency", run.Out, StringComparison.Ordinal);
        Assert.Contains("assumption", run.Out, StringComparison.Ordinal);
        Assert.All(ContractChecks.All, c => Assert.Contains(c.Name, run.Out, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Version_prints_the_builds_version_and_commit_and_exits_0()
    {
        var run = await RunAsync("--version");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Equal(BuildStamp.Informational, run.Out.Trim());
    }

    [Theory]
    [InlineData("verify", "--concurrency", "0")]
    [InlineData("verify", "--concurrency", "many")]
    [InlineData("schedule", "--json", "--bogus")]
    [InlineData("verify", "extra")]
    public async Task Parse_errors_exit_2_not_System_CommandLine_s_1(params string[] args)
    {
        AssertOneLineError(await RunAsync(args));
    }

    [Fact]
    public async Task Sign_with_a_missing_secret_value_names_secret()
    {
        var file = WriteFile("p.json", "{}"u8.ToArray());
        var run = await RunAsync("sign", "--secret", "--timestamp", "1700000000", file);
        AssertOneLineError(run);
        Assert.Contains("--secret", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_report_path_that_is_a_folder_is_refused_before_any_request()
    {
        await using var receiver = await TestReceiver.StartAsync((_, _) => Task.FromResult(200));
        var run = await RunAsync("verify", "--target", receiver.Url.ToString(), "--secret", "s", "--report", _dir);
        AssertOneLineError(run);
        Assert.Contains("is a folder", run.Err, StringComparison.Ordinal);
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public async Task An_unwritable_report_file_is_refused_before_any_request()
    {
        await using var receiver = await TestReceiver.StartAsync((_, _) => Task.FromResult(200));
        var readOnly = WriteFile("locked.xml", []);
        File.SetAttributes(readOnly, FileAttributes.ReadOnly);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(readOnly, UnixFileMode.UserRead);
        }
        var canWrite = true;
        try
        {
            using (File.OpenWrite(readOnly))
            {
            }
        }
        catch (UnauthorizedAccessException)
        {
            canWrite = false;
        }
        if (canWrite)
        {
            return; // running as a user who may write anything: the refusal cannot be observed here
        }
        var run = await RunAsync("verify", "--target", receiver.Url.ToString(), "--secret", "s", "--report", readOnly);
        AssertOneLineError(run);
        Assert.Contains("cannot write", run.Err, StringComparison.Ordinal);
        Assert.Empty(receiver.Requests);
    }

    [Fact]
    public async Task Junit_marks_not_tried_checks_skipped_with_the_reason_and_times_every_case()
    {
        await using var receiver = await TestReceiver.StartAsync((_, _) => Task.FromResult(503));
        var report = Path.Combine(_dir, "skipped.xml");
        var run = await RunAsync("verify", "--target", receiver.Url.ToString(), "--secret", "s", "--events", "booking.no_show", "--report", report);
        Assert.Equal(ExitCodes.Failed, run.Exit);
        var suite = XDocument.Load(report).Root!.Element("testsuite")!;
        Assert.Equal("1", suite.Attribute("skipped")!.Value);
        var redelivery = suite.Elements("testcase").Single(t => t.Attribute("name")!.Value == ContractChecks.Redelivery);
        Assert.Contains(ContractChecks.Accepted, redelivery.Element("skipped")!.Attribute("message")!.Value, StringComparison.Ordinal);
        Assert.Empty(redelivery.Elements("failure"));
        Assert.All(suite.Elements("testcase"), t => Assert.NotNull(t.Attribute("time")));
        // One event without the lifecycle's others: its checks only.
        Assert.Equal(ContractChecks.PerEvent.Select(c => c.Name), suite.Elements("testcase").Select(t => t.Attribute("name")!.Value));
        // The table uses the same names as its column headers.
        Assert.All(ContractChecks.PerEvent, c => Assert.Contains(c.Name, run.Out, StringComparison.Ordinal));
        Assert.Contains("disables the webhook", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_show_what_the_receiver_answered()
    {
        await using var receiver = await TestReceiver.StartAsync(async (http, _) =>
        {
            http.Response.StatusCode = 422;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync("{\"error\":\"data.owner is missing\"}");
            return 422;
        });
        var run = await RunAsync("verify", "--target", receiver.Url.ToString(), "--secret", "s", "--events", "booking.scheduled");
        Assert.Equal(ExitCodes.Failed, run.Exit);
        Assert.Contains("422 in ", run.Out, StringComparison.Ordinal);
        Assert.Contains("data.owner is missing", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verbose_prints_requests_and_answers_with_the_signature_redacted()
    {
        const string secret = "verbose-secret-never-printed";
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret] });
        var run = await RunAsync("verify", "--target", receiver.Url.ToString(), "--secret", secret, "--events", "booking.completed", "--verbose");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.Contains("> POST " + receiver.Url, run.Err, StringComparison.Ordinal);
        Assert.Contains("Oncehub-Signature: t=", run.Err, StringComparison.Ordinal);
        Assert.Contains(",s=<redacted>", run.Err, StringComparison.Ordinal);
        Assert.Matches(@"< HTTP/1\.1 200", run.Err);
        Assert.DoesNotMatch(@"s=[0-9a-f]{64}", run.Err);
        Assert.DoesNotContain(secret, run.Out + run.Err, StringComparison.Ordinal);
    }

    // The built programs, run as processes exactly as users run them.
    private static Process Start(string dll, params string[] args)
    {
        var info = DotnetCommand.StartInfo("dotnet", AppContext.BaseDirectory, [Path.Combine(AppContext.BaseDirectory, dll), .. args]);
        info.Environment.Remove("ONCEHUB_WEBHOOK_SECRET");
        return Process.Start(info)!;
    }

    private static async Task<Run> RunProcessAsync(string dll, params string[] args)
    {
        using var process = Start(dll, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(limit.Token);
        return new Run(process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Cli_process_verifies_the_bundled_receiver()
    {
        var run = await RunProcessAsync("OnceHub.Contracts.Cli.dll", "verify");
        Assert.True(run.Exit == 0, run.Out + run.Err);
        Assert.Contains("PASS: 97 checks, 0 failed", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_process_reports_bad_input_without_a_stack_trace()
    {
        AssertOneLineError(await RunProcessAsync("OnceHub.Contracts.Cli.dll", "schedule", "--outage", "forever"));
    }

    [Fact]
    public async Task Receiver_process_serves_deliveries_and_persists_ids()
    {
        var db = Path.Combine(_dir, "receiver.db");
        await using var receiver = await ReceiverProcess.StartAsync(new Dictionary<string, string?>(), "--port", "0", "--secret", "proc-secret", "--db", db);
        Assert.Equal(("http", "127.0.0.1"), (receiver.Url.Scheme, receiver.Url.Host));

        var run = await RunAsync("verify", "--target", receiver.Url.ToString(), "--secret", "proc-secret", "--events", "booking.scheduled");
        Assert.Equal(ExitCodes.Ok, run.Exit);
        Assert.True(File.Exists(db));
    }

    [Fact]
    public async Task Receiver_process_without_secret_is_a_one_line_error()
    {
        AssertOneLineError(await RunProcessAsync("OnceHub.Contracts.Receiver.dll", "--port", "0"));
    }
}
