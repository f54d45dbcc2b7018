using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Npgsql;
using OnceHub.Contracts.CommandLine;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Receiver;

/// <summary>
/// <c>receiver --port N --secret S [--secret OLD] [--store memory|sqlite:PATH]</c> serves the reference receiver;
/// <c>receiver quarantine list|show|replay|delete --store sqlite:PATH</c> looks after what it set aside
/// (<c>--db PATH</c> is short for <c>--store sqlite:PATH</c>). The secrets may come from the environment instead,
/// read as the library reads them (ONCEHUB_WEBHOOK_SECRETS, comma-separated, or ONCEHUB_WEBHOOK_SECRET), which
/// keeps them out of process listings. Exit codes are <see cref="ExitCodes"/>': 1 when an entry is missing or a
/// replay did not get its event processed.
/// </summary>
public static class ReceiverProgram
{
    public const string SecretVariable = OnceHubWebhookOptions.SecretVariable;


    public static Task<int> Main(string[] args) => RunAsync(args, Console.Out, Console.Error);

    /// <summary>Runs the command line with its output going to the given writers (tests capture them).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var root = BuildCommand(stdout, stderr);
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // System.CommandLine answers parse errors with 1; bad input is 2 here, as in every command of this project.
            // The first error only: a later one is often a consequence of it.
            await stderr.WriteLineAsync(CommandLineErrors.Parse(parsed.Errors[0].Message));
            return ExitCodes.BadInput;
        }
        return await parsed.InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr }, cancellationToken);
    }

    private static RootCommand BuildCommand(TextWriter stdout, TextWriter stderr)
    {
        var port = new Option<int>("--port")
        {
            Description = "Loopback port to listen on; 0 picks a free one",
            DefaultValueFactory = _ => 0,
            CustomParser = r => ParseNumber(r, 0, 65535, "--port must be a number from 0 to 65535"),
        };
        var secret = new Option<string[]>("--secret")
        {
            Description = $"The webhook's signing secret; repeat it during a rollover (default: {SecretVariable})",
            AllowMultipleArgumentsPerToken = false,
        };
        secret.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string[]>()?.Any(string.IsNullOrEmpty) == true)
            {
                r.AddError("--secret must not be empty");
            }
        });
        var serveDb = StoreOption(required: false, "Where event ids and the quarantine are kept: memory (lost on restart, the default), sqlite:PATH (a file, kept across restarts) or postgres:CONNECTION (a PostgreSQL database several receivers share)");
        var verbose = new Option<bool>("--verbose", "-v")
        {
            Description = "Also log ASP.NET Core's own lines (request start and end, routing); by default one line per delivery",
        };
        var lease = new Option<int>("--lease-seconds")
        {
            Description = "How long a delivery owns an event id while it is handled; a receiver killed meanwhile holds it that long (default 120)",
            DefaultValueFactory = _ => 120,
            CustomParser = r => ParseNumber(r, 1, 86_400, "--lease-seconds must be a number from 1 to 86400"),
        };
        var effects = new Option<bool>("--effects")
        {
            Description = $"With --store postgres:CONNECTION: write one row per handled event to the table {ReceiverEffects.Table} in the transaction that settles it (exactly-once effects, to count)",
        };
        var account = new Option<string>("--account")
        {
            Description = "Serve a local OnceHub account's webhooks instead: file:PATH; each webhook's URL path on this machine answered with its own secret (port: the webhooks', unless --port)",
        };

        var root = new RootCommand($"""
            OnceHub's reference webhook receiver: POST {ReferenceReceiver.Path} on 127.0.0.1. Signatures are checked
            before the body is read (tolerance {SignatureVerifier.DefaultTolerance.TotalSeconds} s); every authentic event is
            acknowledged: processed, de-duplicated by id, ignored when its type is unknown, or quarantined.
            """)
        {
            port, secret, serveDb, account, verbose, lease, effects,
        };
        VersionAction.Use(root, typeof(ReceiverProgram).Assembly);
        root.SetAction(async (parse, ct) =>
        {
            var secrets = parse.GetValue(secret)?.ToList() ?? [];
            var recordEffects = parse.GetValue(effects);
            if (recordEffects && parse.GetValue(serveDb)?.PostgresConnection is null)
            {
                return await FailAsync(stderr, $"--effects needs --store {ReceiverStore.PostgresPrefix}CONNECTION");
            }
            if (parse.GetValue(account) is { } accountSpec)
            {
                if (secrets.Count > 0)
                {
                    return await FailAsync(stderr, "--account takes the secrets from the account: drop --secret");
                }
                AccountEndpointSet served;
                try
                {
                    served = AccountEndpoints.Resolve(accountSpec, parse.GetValue(port));
                }
                catch (ArgumentException ex)
                {
                    return await FailAsync(stderr, ex.Message);
                }
                foreach (var endpoint in served.Endpoints)
                {
                    // Paths only: the secrets stay out of the output.
                    await stdout.WriteLineAsync($"serving {endpoint.Path} with {endpoint.Secrets.Count} secret(s) from the account");
                }
                return await ServeAsync(new ReceiverOptions { Endpoints = served.Endpoints, Port = served.Port, Store = parse.GetValue(serveDb) ?? ReceiverStore.Memory, RecordEffects = recordEffects, InFlightLease = TimeSpan.FromSeconds(parse.GetValue(lease)) },
                    stdout, stderr, parse.GetValue(verbose), ct);
            }
            if (secrets.Count == 0)
            {
                secrets = SecretsFromEnvironment();
            }
            if (secrets.Count == 0)
            {
                return await FailAsync(stderr, $"a webhook secret is required: --secret S, {OnceHubWebhookOptions.SecretsVariable} (comma-separated) or {SecretVariable}");
            }
            return await ServeAsync(new ReceiverOptions { Secrets = secrets, Port = parse.GetValue(port), Store = parse.GetValue(serveDb) ?? ReceiverStore.Memory, RecordEffects = recordEffects, InFlightLease = TimeSpan.FromSeconds(parse.GetValue(lease)) },
                stdout, stderr, parse.GetValue(verbose), ct);
        });

        var listDb = StoreOption(required: true, "The receiver's store: sqlite:PATH or postgres:CONNECTION");
        var all = new Option<bool>("--all") { Description = "Also list entries already replayed" };
        var list = new Command("list", "List quarantined events, oldest first") { listDb, all };
        list.SetAction((parse, _) => WithStoreAsync(parse.GetRequiredValue(listDb), stderr, async store =>
        {
            var entries = await store.ListQuarantineAsync(parse.GetValue(all));
            if (entries.Count == 0)
            {
                stdout.WriteLine("quarantine is empty");
            }
            foreach (var e in entries)
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{e.Id}\t{e.ReceivedAt:O}\t{e.EventId ?? "-"}\t{e.EventType ?? "-"}\t{e.Body.Length} bytes\t{(e.ReplayedAt is { } at ? $"replayed {at:O}" : "waiting")}\t{e.Reason}"));
            }
            return ExitCodes.Ok;
        }));

        var showDb = StoreOption(required: true, "The receiver's store: sqlite:PATH or postgres:CONNECTION");
        var showId = EntryArgument();
        var show = new Command("show", "Write one quarantined body to stdout, byte for byte as received") { showId, showDb };
        show.SetAction((parse, _) => WithStoreAsync(parse.GetRequiredValue(showDb), stderr, async store =>
        {
            if (await store.GetQuarantinedAsync(parse.GetValue(showId)) is not { } entry)
            {
                stderr.WriteLine(CommandLineErrors.Line($"no quarantine entry {parse.GetValue(showId)}"));
                return ExitCodes.Failed;
            }
            stdout.Flush();
            if (ReferenceEquals(stdout, Console.Out))
            {
                // Byte for byte: the body may not even be text.
                using var raw = Console.OpenStandardOutput();
                raw.Write(entry.Body);
            }
            else
            {
                stdout.Write(System.Text.Encoding.UTF8.GetString(entry.Body));
            }
            return ExitCodes.Ok;
        }));

        var replayDb = StoreOption(required: true, "The receiver's store: sqlite:PATH or postgres:CONNECTION");
        var replayId = EntryArgument();
        var replay = new Command("replay", "Hand a quarantined event to the handler again; it is then settled as processed") { replayId, replayDb };
        replay.SetAction((parse, ct) => WithStoreAsync(parse.GetRequiredValue(replayDb), stderr, async store =>
        {
            // Replay does not verify signatures (the entry was verified when it arrived), so the pipeline's
            // required secret is a throwaway one.
            var pipeline = new WebhookPipeline(new WebhookPipelineOptions { Secrets = [RandomNumberGenerator.GetHexString(32)] }, store);
            var result = await pipeline.ReplayAsync(parse.GetValue(replayId), ct);
            (result.Outcome == ReplayOutcome.Replayed ? stdout : stderr).WriteLine(result.Message);
            return result.Outcome == ReplayOutcome.Replayed ? ExitCodes.Ok : ExitCodes.Failed;
        }));

        var deleteDb = StoreOption(required: true, "The receiver's store: sqlite:PATH or postgres:CONNECTION");
        var deleteId = EntryArgument();
        var delete = new Command("delete", "Remove a quarantined event for good (after it was replayed, or when it is not worth keeping)") { deleteId, deleteDb };
        delete.SetAction((parse, _) => WithStoreAsync(parse.GetRequiredValue(deleteDb), stderr, async store =>
        {
            if (!await store.DeleteQuarantinedAsync(parse.GetValue(deleteId)))
            {
                stderr.WriteLine(CommandLineErrors.Line($"no quarantine entry {parse.GetValue(deleteId)}"));
                return ExitCodes.Failed;
            }
            stdout.WriteLine($"deleted quarantine entry {parse.GetValue(deleteId)}");
            return ExitCodes.Ok;
        }));

        root.Add(new Command("quarantine", "Look after the events the receiver set aside: list, show, replay, delete") { list, show, replay, delete });
        return root;
    }

    // --db PATH is a short form of --store sqlite:PATH, so scripts written for it keep working.
    private static Option<ReceiverStore> StoreOption(bool required, string description) => new("--store", "--db")
    {
        Description = description,
        Required = required,
        CustomParser = r =>
        {
            var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
            if ((r.Parent as System.CommandLine.Parsing.OptionResult)?.IdentifierToken?.Value == "--db")
            {
                if (!string.IsNullOrWhiteSpace(text))
                {
                    return ReceiverStore.Sqlite(text);
                }
                r.AddError("--db must name a file");
                return null;
            }
            try
            {
                return ReceiverStore.Parse(text);
            }
            catch (FormatException ex)
            {
                r.AddError(ex.Message);
                return null;
            }
        },
    };

    // The library's own reading of the environment, so the receiver takes the secrets its README tells users to set.
    private static List<string> SecretsFromEnvironment()
    {
        var options = new OnceHubWebhookOptions();
        options.BindFrom(new ConfigurationBuilder().AddEnvironmentVariables().Build());
        return options.Secrets;
    }

    private static Argument<long> EntryArgument()
    {
        return new Argument<long>("ENTRY")
        {
            Description = "The quarantine entry number (see 'quarantine list')",
            CustomParser = r => ParseNumberLong(r, 1, long.MaxValue, "ENTRY must be a positive entry number"),
        };
    }

    // One parser for numbers with a range, so a word where a number belongs is a parse error (exit 2) too.
    private static int ParseNumber(System.CommandLine.Parsing.ArgumentResult result, long min, long max, string rule) =>
        (int)Math.Min(ParseNumberLong(result, min, max, rule), int.MaxValue);

    private static long ParseNumberLong(System.CommandLine.Parsing.ArgumentResult result, long min, long max, string rule)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        result.AddError(rule);
        return min;
    }

    private static async Task<int> WithStoreAsync(ReceiverStore where, TextWriter stderr, Func<IEventStore, Task<int>> action)
    {
        if (!where.IsDurable)
        {
            stderr.WriteLine(CommandLineErrors.Line($"--store: the quarantine of a {where} store ends with its receiver; name the receiver's {ReceiverStore.SqlitePrefix}PATH or {ReceiverStore.PostgresPrefix}CONNECTION"));
            return ExitCodes.BadInput;
        }
        // Opening a missing file would create an empty database and report nothing: say what is wrong instead.
        if (where.SqlitePath is { } path && !File.Exists(path))
        {
            stderr.WriteLine(CommandLineErrors.Line($"--store: no such file '{path}'"));
            return ExitCodes.BadInput;
        }
        try
        {
            using var store = where.Open();
            return await action(store);
        }
        catch (SqliteException ex)
        {
            stderr.WriteLine(CommandLineErrors.Line($"--store: '{where.SqlitePath}' is not a receiver database ({ex.Message})"));
            return ExitCodes.BadInput;
        }
        catch (NpgsqlException ex)
        {
            // The store is named without its password; Npgsql's message names the server and the failure.
            stderr.WriteLine(CommandLineErrors.Line($"--store: the PostgreSQL store {where} did not answer ({ex.Message})"));
            return ExitCodes.Failed;
        }
    }

    private static async Task<int> ServeAsync(ReceiverOptions options, TextWriter stdout, TextWriter stderr, bool verbose, CancellationToken ct)
    {
        // Logs go to stderr, so stdout carries only the listening line and the final counts. ASP.NET Core's own
        // request lines (about four per request) only with --verbose: the receiver's one line per delivery says it all.
        using var logging = LoggerFactory.Create(b => b
            .AddConsole(c => c.LogToStandardErrorThreshold = LogLevel.Trace)
            .AddSimpleConsole(c => c.SingleLine = true)
            .SetMinimumLevel(LogLevel.Information)
            .AddFilter("Microsoft.AspNetCore", verbose ? LogLevel.Information : LogLevel.Warning)
            // A start that fails (a port in use) is reported below in one line, not as the host's stack trace.
            .AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None));
        ReferenceReceiver receiver;
        try
        {
            receiver = await ReferenceReceiver.StartAsync(options with { LoggerFactory = logging }, ct);
        }
        catch (Exception ex) when (ex is IOException or SqliteException or NpgsqlException or UnauthorizedAccessException)
        {
            return await FailAsync(stderr, $"cannot start: {ex.Message}");
        }
        await using (receiver)
        {
            await stdout.WriteLineAsync($"listening on {receiver.Url} (Ctrl+C to stop)");
            var stop = new TaskCompletionSource();
            // Ctrl+C and SIGTERM end the wait instead of the process, so the store is closed cleanly.
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.TrySetResult();
            }
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var canceled = ct.Register(() => stop.TrySetResult());
            await stop.Task;
            await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"stopped: {receiver.ProcessedCount} processed, {receiver.DuplicateCount} duplicates, {receiver.Count(ReceiveOutcome.Ignored)} ignored, {receiver.Count(ReceiveOutcome.Quarantined)} quarantined"));
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> FailAsync(TextWriter stderr, string message)
    {
        await stderr.WriteLineAsync(CommandLineErrors.Line(message));
        return ExitCodes.BadInput;
    }
}
