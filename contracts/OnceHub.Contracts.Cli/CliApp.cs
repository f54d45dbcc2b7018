using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Signing;
using OnceHub.Contracts.Suite;
using OnceHub.Events;

namespace OnceHub.Contracts.Cli;

/// <summary>
/// The contract suite's command line. Exit codes: 0 all good, 1 a check or validation failed,
/// 2 bad input (unknown verb or flag, unreadable file, bad URL, number or duration) or a run that could not start.
/// </summary>
public sealed class CliApp(TextWriter stdout, TextWriter stderr, Func<string, string?>? environment = null)
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    private const string SecretVariable = ReceiverProgram.SecretVariable;

    private readonly Func<string, string?> _env = environment ?? Environment.GetEnvironmentVariable;

    private static readonly string Usage = """
        usage: dotnet run --project contracts/OnceHub.Contracts.Cli -- <verb> [options]

        verbs:
          verify    prove a receiver endpoint honours OnceHub's webhook contract (default: the bundled reference receiver)
          send      deliver one signed event to a URL
          schedule  print OnceHub's retry schedule; --outage tells what an outage of a given length means
          sign      print the Oncehub-Signature header value for a file
          validate  check payload files against the schemas

        '<verb> --help' describes a verb. Exit codes: 0 ok, 1 a check failed, 2 bad input.
        """;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await new CliApp(Console.Out, Console.Error).RunAsync(args);
        }
        catch (Exception ex)
        {
            // Whatever went wrong (a port that cannot be bound, an unwritable folder), one line, no stack trace.
            await Console.Error.WriteLineAsync($"error: {ex.GetType().Name}: {Parsing.FirstLine(ex.Message)}");
            return BadInput;
        }
    }

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken = default)
    {
        try
        {
            if (args.Count == 0)
            {
                throw new UsageException("no verb given; try 'verify', 'send', 'schedule', 'sign' or 'validate' (or --help)");
            }
            var rest = args.Skip(1).ToList();
            return args[0] switch
            {
                "-h" or "--help" or "help" => Help(),
                "verify" => await VerifyAsync(rest, cancellationToken),
                "send" => await SendAsync(rest, cancellationToken),
                "schedule" => Schedule(rest),
                "sign" => Sign(rest),
                "validate" => Validate(rest),
                // Local-account verbs (System.CommandLine commands); the new root registers Commands.LocalVerbs.All() instead.
                var local when Commands.LocalVerbs.Names.Contains(local) => await Commands.LocalVerbs.RunAsync(args, stdout, stderr, cancellationToken),
                var verb => throw new UsageException($"unknown verb '{Parsing.Printable(verb)}'; try 'verify', 'send', 'schedule', 'sign' or 'validate'"),
            };
        }
        catch (UsageException ex)
        {
            await stderr.WriteLineAsync("error: " + ex.Message);
            return BadInput;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("error: canceled");
            return BadInput;
        }
    }

    private int Help()
    {
        stdout.WriteLine(Usage);
        return Ok;
    }

    private string? SecretFrom(CliArguments parsed) =>
        parsed.Value("--secret") is { } s
            ? (s.Length == 0 ? throw new UsageException("--secret must not be empty") : s)
            : _env(SecretVariable) is { Length: > 0 } fromEnv ? fromEnv : null;

    // ---------------------------------------------------------------- verify

    private async Task<int> VerifyAsync(List<string> args, CancellationToken ct)
    {
        var parsed = CliArguments.Parse("verify", args, ["--target", "--secret", "--timeout", "--events", "--report"], []);
        if (parsed.Help)
        {
            stdout.WriteLine($"""
                usage: verify [--target URL] [--secret S] [--timeout SECONDS] [--events LIST] [--report FILE.xml]

                Delivers every event's documented sample to the receiver and checks, per event:
                {string.Join(Environment.NewLine, ContractChecks.All.Select(c => $"  {c.Name,-18} {c.Meaning}"))}

                  --target URL       the receiver endpoint; without it the bundled reference receiver is started
                                     on 127.0.0.1 with a generated secret and verified
                  --secret S         the webhook's signing secret (or {SecretVariable}); required with --target
                  --timeout SECONDS  per-request limit, default {DeliveryOptions.DefaultAttemptTimeout.TotalSeconds}
                  --events LIST      comma-separated events; 'booking' or 'conversation' stand for their family
                  --report FILE.xml  also write the results as JUnit XML
                Bounded wall time: checks still waiting after 3 x --timeout (at least 5 s) fail, so a receiver
                that never answers cannot hold the run. Exit 0 when every check holds, 1 otherwise.
                """);
            return Ok;
        }
        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"verify: unexpected argument '{Parsing.Printable(parsed.Positionals[0])}'");
        }
        var target = parsed.Value("--target") is { } t ? Parsing.Url("--target", t) : null;
        var timeout = parsed.Value("--timeout") is { } s
            ? Parsing.Seconds("--timeout", s, 0.05, 600)
            : DeliveryOptions.DefaultAttemptTimeout;
        var events = parsed.Value("--events") is { } e ? Parsing.Events("--events", e) : EventCatalog.Specific;
        var reportPath = parsed.Value("--report");
        if (reportPath is not null)
        {
            // An empty or NUL-bearing path makes Path.GetFullPath throw: check it first.
            if (reportPath.Length == 0 || reportPath.Contains('\0', StringComparison.Ordinal))
            {
                throw new UsageException("--report: give the path of the JUnit XML file to write");
            }
            var dir = Path.GetDirectoryName(Path.GetFullPath(reportPath));
            if (dir is not null && !Directory.Exists(dir))
            {
                throw new UsageException($"--report: the folder of '{Parsing.Printable(reportPath)}' does not exist");
            }
        }
        var secret = SecretFrom(parsed);

        ReferenceReceiver? bundled = null;
        if (target is null)
        {
            secret ??= RandomNumberGenerator.GetHexString(40, lowercase: true);
            bundled = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret] }, ct);
            target = bundled.Url;
            await stderr.WriteLineAsync($"verify: started the reference receiver at {target}");
        }
        else if (secret is null)
        {
            throw new UsageException($"verify: --secret (or {SecretVariable}) is required with --target");
        }

        try
        {
            var options = new SuiteOptions
            {
                Target = target,
                Secret = secret,
                Timeout = timeout,
                Events = events,
                Progress = (done, total) =>
                {
                    Volatile.Write(ref _total, total);
                    Volatile.Write(ref _done, done);
                },
            };
            await stderr.WriteLineAsync(
                $"verify: {events.Count} event(s) against {ContractSuite.DisplayTarget(target)}, timeout {Seconds(timeout)}, bounded by {Seconds(options.Deadline)}");
            var run = ContractSuite.RunAsync(options, ct);
            await ReportProgressAsync(run);
            var report = await run;

            WriteTable(report);
            if (reportPath is not null)
            {
                try
                {
                    await using var file = File.Create(reportPath);
                    JUnitReport.Write(report, file);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new UsageException($"--report: cannot write '{Parsing.Printable(reportPath)}': {Parsing.FirstLine(ex.Message)}");
                }
                await stderr.WriteLineAsync($"verify: JUnit report written to {reportPath}");
            }
            return report.Passed ? Ok : Failed;
        }
        finally
        {
            if (bundled is not null)
            {
                await bundled.DisposeAsync();
            }
        }
    }

    private int _done;
    private int _total;

    // Quiet for quick runs; a line a second on stderr once a run takes longer than a moment.
    private async Task ReportProgressAsync(Task run)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (!run.IsCompleted)
        {
            var tick = timer.WaitForNextTickAsync().AsTask();
            if (await Task.WhenAny(run, tick) == run)
            {
                return;
            }
            await stderr.WriteLineAsync($"verify: {Volatile.Read(ref _done)}/{Volatile.Read(ref _total)} checks done…");
        }
    }

    private void WriteTable(SuiteReport report)
    {
        var columns = ContractChecks.All.Select(c => c.Name).ToList();
        var headers = new[] { "DELIVERED", "REDELIVERY", "FORGED", "TAMPERED", "UNSIGNED", "STALE", "IN TIME" };
        var rows = report.Events.Select(e =>
        {
            var byName = e.Checks.ToDictionary(c => c.Check);
            return (e.Event.Name, Cells: columns.Select(c => (byName[c].Passed ? "ok " : "FAIL ") + byName[c].Summary).ToArray());
        }).ToList();
        var nameWidth = Math.Max("EVENT".Length, rows.Count == 0 ? 0 : rows.Max(r => r.Name.Length));
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r.Cells[i].Length))).ToArray();

        stdout.WriteLine($"OnceHub webhook contract: {report.Target} (timeout {Seconds(report.Timeout)})");
        stdout.WriteLine();
        stdout.WriteLine(Row("EVENT", headers));
        foreach (var (name, cells) in rows)
        {
            stdout.WriteLine(Row(name, cells));
        }

        var failures = report.Checks.Where(c => !c.Passed).ToList();
        if (failures.Count > 0)
        {
            stdout.WriteLine();
            stdout.WriteLine("Failures:");
            foreach (var f in failures)
            {
                stdout.WriteLine($"  {f.Event} {f.Check}: {f.Detail}");
            }
        }
        stdout.WriteLine();
        stdout.WriteLine("DELIVERED shows the attempt and simulated offset on OnceHub's retry schedule at which the event got through.");
        var stopped = report.DeadlineReached ? " (stopped at the run's deadline)" : "";
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(report.Passed ? "PASS" : "FAIL")}: {report.CheckCount} checks, {report.FailureCount} failed, {report.WallTime.TotalSeconds:0.00} s{stopped}"));

        string Row(string first, IReadOnlyList<string> cells) =>
            (first.PadRight(nameWidth) + "  " + string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i])))).TrimEnd();
    }

    // ---------------------------------------------------------------- send

    private async Task<int> SendAsync(List<string> args, CancellationToken ct)
    {
        var parsed = CliArguments.Parse("send", args, ["--target", "--secret", "--file", "--timeout"], []);
        if (parsed.Help)
        {
            stdout.WriteLine($"""
                usage: send EVENT --target URL --secret S [--file PAYLOAD] [--timeout SECONDS]

                One delivery, signed now, of EVENT's documented sample (or of PAYLOAD's exact bytes), with
                OnceHub's headers. Prints the status and the time it took; exit 0 on a 2xx, 1 otherwise.
                The secret may come from {SecretVariable}. Default timeout {DeliveryOptions.DefaultAttemptTimeout.TotalSeconds} s.
                """);
            return Ok;
        }
        if (parsed.Positionals.Count != 1)
        {
            throw new UsageException("send: give exactly one EVENT, e.g. 'send booking.scheduled --target URL --secret S'");
        }
        var eventType = Parsing.Event("send", parsed.Positionals[0]);
        var target = Parsing.Url("--target", parsed.Value("--target") ?? throw new UsageException("send: --target URL is required"));
        var secret = SecretFrom(parsed) ?? throw new UsageException($"send: --secret (or {SecretVariable}) is required");
        var timeout = parsed.Value("--timeout") is { } s ? Parsing.Seconds("--timeout", s, 0.05, 600) : DeliveryOptions.DefaultAttemptTimeout;
        var body = parsed.Value("--file") is { } file ? Parsing.ReadFile("--file", file) : ContractResources.ReadSample(eventType.Name);

        using var engine = new DeliveryEngine(new DeliveryOptions { AttemptTimeout = timeout });
        var result = await engine.SendAsync(target, body, new WebhookSigner(secret), ct);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{eventType.Name} -> {ContractSuite.DisplayTarget(target)}: {result.Describe()} in {result.Elapsed.TotalMilliseconds:0} ms"));
        return result.IsAccepted ? Ok : Failed;
    }

    // ---------------------------------------------------------------- schedule

    private int Schedule(List<string> args)
    {
        var parsed = CliArguments.Parse("schedule", args, ["--outage"], ["--json"]);
        if (parsed.Help)
        {
            stdout.WriteLine("""
                usage: schedule [--json] [--outage DURATION]

                OnceHub's retry schedule for a failed delivery: after 35 s, then 3 min, then 72 min, then every
                6 h, for 72 h from the first attempt. --json prints {"attempts":[{"attempt":1,"offsetSeconds":0},...]}.
                --outage DURATION (e.g. 90s, 35m, 5h, 2d, 1h30m; the receiver down from the first attempt) tells
                which attempt first lands after the outage, or that the event is lost.
                """);
            return Ok;
        }
        if (parsed.Positionals.Count > 0)
        {
            throw new UsageException($"schedule: unexpected argument '{Parsing.Printable(parsed.Positionals[0])}'");
        }
        OutageOutcome? outage = null;
        TimeSpan outageLength = default;
        if (parsed.Value("--outage") is { } text)
        {
            outageLength = Parsing.Duration("--outage", text);
            outage = RetrySchedule.ForOutage(outageLength);
        }

        if (parsed.Switch("--json"))
        {
            stdout.WriteLine(ScheduleJson(outage, outageLength));
            return Ok;
        }
        stdout.WriteLine("ATTEMPT  OFFSET (s)  OFFSET       WAIT BEFORE");
        for (var i = 0; i < RetrySchedule.AttemptCount; i++)
        {
            var offset = RetrySchedule.Offsets[i];
            var wait = i == 0 ? "-" : Parsing.Human(RetrySchedule.DelayBefore(i + 1));
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{i + 1,7}  {(long)offset.TotalSeconds,10}  {Parsing.Human(offset),-11}  {wait}"));
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{RetrySchedule.AttemptCount} attempts; the last at {RetrySchedule.Offsets[^1].TotalSeconds} s ({RetrySchedule.Offsets[^1].TotalHours:0.00} h); none after {RetrySchedule.Window.TotalHours} h."));
        if (outage is { } o)
        {
            stdout.WriteLine(o.Lost
                ? $"An outage of {Parsing.Human(outageLength)} from the first attempt outlasts every attempt: the event is lost."
                : string.Create(CultureInfo.InvariantCulture,
                    $"An outage of {Parsing.Human(outageLength)} from the first attempt: attempt {o.Attempt} at {o.Offset.TotalSeconds} s ({Parsing.Human(o.Offset)}) is the first to land after it."));
        }
        return Ok;
    }

    internal static string ScheduleJson(OutageOutcome? outage = null, TimeSpan outageLength = default)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("attempts");
            for (var i = 0; i < RetrySchedule.AttemptCount; i++)
            {
                json.WriteStartObject();
                json.WriteNumber("attempt", i + 1);
                json.WriteNumber("offsetSeconds", (long)RetrySchedule.Offsets[i].TotalSeconds);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (outage is { } o)
            {
                json.WriteStartObject("outage");
                json.WriteNumber("seconds", (long)outageLength.TotalSeconds);
                json.WriteBoolean("lost", o.Lost);
                if (!o.Lost)
                {
                    json.WriteNumber("attempt", o.Attempt);
                    json.WriteNumber("offsetSeconds", (long)o.Offset.TotalSeconds);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    // ---------------------------------------------------------------- sign

    private int Sign(List<string> args)
    {
        var parsed = CliArguments.Parse("sign", args, ["--secret", "--timestamp"], []);
        if (parsed.Help)
        {
            stdout.WriteLine($"""
                usage: sign --secret S --timestamp T FILE

                Prints the Oncehub-Signature header value t=T,s=HEX for FILE's exact bytes:
                HEX is the lowercase hex HMAC-SHA256, keyed with the secret (UTF-8), of "T." followed by the bytes.
                The secret may come from {SecretVariable}.
                """);
            return Ok;
        }
        if (parsed.Positionals.Count != 1)
        {
            throw new UsageException("sign: give exactly one FILE");
        }
        var secret = SecretFrom(parsed) ?? throw new UsageException($"sign: --secret (or {SecretVariable}) is required");
        var timestamp = Parsing.UnixSeconds("--timestamp", parsed.Value("--timestamp") ?? throw new UsageException("sign: --timestamp T is required"));
        var body = Parsing.ReadFile("sign", parsed.Positionals[0]);
        stdout.WriteLine(new WebhookSigner(secret).CreateHeader(body, timestamp));
        return Ok;
    }

    // ---------------------------------------------------------------- validate

    private int Validate(List<string> args)
    {
        var parsed = CliArguments.Parse("validate", args, [], []);
        if (parsed.Help)
        {
            stdout.WriteLine("""
                usage: validate FILE...

                Checks each payload file against the event envelope schema and its family's data schema.
                Exit 0 when every file is valid; 1 otherwise, listing each error's JSON path and rule.
                """);
            return Ok;
        }
        if (parsed.Positionals.Count == 0)
        {
            throw new UsageException("validate: give at least one FILE");
        }
        // Read everything first so a missing file is a usage error before any output.
        var files = parsed.Positionals.Select(p => (Path: p, Bytes: Parsing.ReadFile("validate", p))).ToList();
        var allValid = true;
        foreach (var (path, bytes) in files)
        {
            var errors = PayloadValidator.Default.Validate(bytes);
            if (errors.Count == 0)
            {
                stdout.WriteLine($"{path}: valid");
                continue;
            }
            allValid = false;
            foreach (var error in errors)
            {
                stdout.WriteLine($"{path}: {error.Path}: {error.Rule}");
            }
        }
        return allValid ? Ok : Failed;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
