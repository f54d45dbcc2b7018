using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using OnceHub.Account;
using OnceHub.Contracts.CommandLine;
using OnceHub.Emulator.LocalDelivery;
using OnceHub.LocalDelivery;

namespace OnceHub.Emulator;

/// <summary>
/// The emulator's command line (System.CommandLine): flags into <see cref="EmulatorOptions"/>,
/// <c>--help</c>, <c>--version</c>, and exit code 2 for bad input.
/// </summary>
public static class EmulatorCommandLine
{
    public const string ApiKeyVariable = ApiAuthentication.KeyVariable;

    /// <summary>Options, or an error line; both null means help or the version was asked for.</summary>
    public static (EmulatorOptions? Options, string? Error) Parse(IReadOnlyList<string> args, string? apiKeyFromEnvironment)
    {
        var flags = new Flags(apiKeyFromEnvironment);
        var result = flags.Root.Parse(args);
        if (result.Errors.Count > 0 && result.Action is ParseErrorAction or null)
        {
            return (null, string.Join("; ", result.Errors.Select(e => e.Message)));
        }

        return result.Action is null or ParseErrorAction ? (flags.ToOptions(result), null) : (null, null);
    }

    /// <summary>Parses <paramref name="args"/> and runs <paramref name="run"/> with the options; help, version and errors go to the writers.</summary>
    public static async Task<int> InvokeAsync(
        IReadOnlyList<string> args,
        string? apiKeyFromEnvironment,
        TextWriter output,
        TextWriter error,
        Func<EmulatorOptions, CancellationToken, Task<int>> run)
    {
        var flags = new Flags(apiKeyFromEnvironment);
        flags.Root.SetAction((result, ct) => run(flags.ToOptions(result), ct));
        var result = flags.Root.Parse(args);
        if (result.Errors.Count > 0 && result.Action is ParseErrorAction)
        {
            // One line on stderr and exit 2, instead of System.CommandLine's help dump and 1; the first error only,
            // as a later one is often a consequence of it.
            await error.WriteLineAsync(CommandLineErrors.Parse(result.Errors[0].Message));
            return ExitCodes.BadInput;
        }

        // The web host handles Ctrl+C and SIGTERM itself and shuts down in order.
        return await result.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null });
    }

    private sealed class Flags
    {
        private readonly string? _apiKeyFromEnvironment;

        public Flags(string? apiKeyFromEnvironment)
        {
            _apiKeyFromEnvironment = apiKeyFromEnvironment;
            Port.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<int>() is < 0 or > 65535)
                {
                    r.AddError("--port must be an integer 0..65535");
                }
            });
            Data.Validators.Add(r =>
            {
                if (string.IsNullOrWhiteSpace(r.GetValueOrDefault<string?>()))
                {
                    r.AddError("--data must name a folder");
                }
            });
            Root = new RootCommand("OnceHub API v2 webhooks on 127.0.0.1, with OnceHub's rules, errors and documented rate limits.")
            {
                Port, ApiKey, Data, AllowInsecureUrls, RateLimit, AddressLimit, NoRateLimits, LatencyMs,
                Deliver, TimeScale, VirtualTime, AttemptTimeout, RedactDeleted, SecretOnReads, Verbose,
            };
            Root.Validators.Add(r =>
            {
                if (string.IsNullOrWhiteSpace(r.GetValue(ApiKey) ?? _apiKeyFromEnvironment))
                {
                    r.AddError($"an API key is required: --api-key K or {ApiKeyVariable}");
                }
                if (r.GetResult(TimeScale) is not null && r.GetValue(VirtualTime))
                {
                    r.AddError("--time-scale and --virtual-time exclude each other");
                }
            });
        }

        public RootCommand Root { get; }

        public Option<int> Port { get; } = new("--port")
        {
            Description = "TCP port on 127.0.0.1 (0 = any free port)",
            Required = true,
            CustomParser = r => ParseInt(r, "--port must be an integer 0..65535"),
        };

        public Option<string?> ApiKey { get; } = new("--api-key")
        {
            Description = $"the accepted API key (or set {ApiKeyVariable}); never printed",
        };

        public Option<string?> Data { get; } = new("--data")
        {
            Description = "keep the account in this folder (the embedded local account); default: in memory",
        };

        public Option<bool> AllowInsecureUrls { get; } = new("--allow-insecure-urls")
        {
            Description = "accept http:// receiver URLs on 127.0.0.1, localhost or [::1]",
        };

        public Option<double> RateLimit { get; } = new("--rate-limit")
        {
            Description = "requests per second per account; above it, 429 rate_limit_error (OnceHub documents 5)",
            DefaultValueFactory = _ => ApiLimits.RequestsPerSecondPerAccount,
            CustomParser = ParseRate,
        };

        public Option<int> AddressLimit { get; } = new("--address-limit")
        {
            Description = $"requests per {ApiLimits.AddressWindow.TotalMinutes:0} minutes per client address (OnceHub documents {ApiLimits.RequestsPerAddress})",
            DefaultValueFactory = _ => ApiLimits.RequestsPerAddress,
            CustomParser = r => ParseInt(r, "--address-limit must be a positive integer", minimum: 1),
        };

        public Option<bool> NoRateLimits { get; } = new("--no-rate-limits")
        {
            Description = "serve without either rate limit",
        };

        public Option<int> LatencyMs { get; } = new("--latency-ms")
        {
            Description = "delay every answer by this many milliseconds",
            CustomParser = r => ParseInt(r, "--latency-ms must be a non-negative integer"),
        };

        public Option<bool> RedactDeleted { get; } = new("--redact-deleted")
        {
            Description = "answer a GET or DELETE of a deleted webhook with 200 {id, object, deleted: true} (OnceHub's redacted mode) instead of 404",
        };

        public Option<bool> SecretOnReads { get; } = new("--secret-on-reads")
        {
            Description = "return the signing secret on GET and in lists too, not only on create",
        };

        public Option<bool> Deliver { get; } = new("--deliver")
        {
            Description = "also send the retries of every delivery of the account (the trigger route /local/events is always there)",
        };

        public Option<double?> TimeScale { get; } = new("--time-scale")
        {
            Description = "run the retry schedule N times faster (35 s take 35/N s)",
            CustomParser = r => ParsePositive(r, "--time-scale must be a positive number", double.MaxValue),
        };

        public Option<bool> VirtualTime { get; } = new("--virtual-time")
        {
            Description = "run the retry schedule in virtual time: the 72 h window in milliseconds",
        };

        public Option<double?> AttemptTimeout { get; } = new("--attempt-timeout")
        {
            Description = "seconds one delivery attempt may take, at most 600 (an assumption: OnceHub documents no per-attempt timeout)",
            CustomParser = r => ParsePositive(r, "--attempt-timeout must be a number of seconds in (0, 600]", 600),
        };

        public Option<bool> Verbose { get; } = new("--verbose", "-v")
        {
            Description = "also log ASP.NET Core's own lines (request start and end, routing); by default warnings only",
        };

        public EmulatorOptions ToOptions(ParseResult result)
        {
            var limited = !result.GetValue(NoRateLimits);
            var scale = result.GetValue(TimeScale);
            var anyDeliveryFlag = result.GetValue(Deliver) || scale is not null || result.GetValue(VirtualTime) || result.GetResult(AttemptTimeout) is not null;
            // No delivery flag: the trigger route alone, as EmulatorOptions' default (null) has it.
            var delivery = !anyDeliveryFlag ? null : new EmulatorDeliverySettings
            {
                Deliver = result.GetValue(Deliver),
                Time = result.GetValue(VirtualTime) ? DeliveryTime.Virtual() : scale is { } k ? DeliveryTime.Scaled(k) : DeliveryTime.Real(),
                FollowAccountClock = scale is null && !result.GetValue(VirtualTime),
                AttemptTimeout = result.GetValue(AttemptTimeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            };
            return new EmulatorOptions
            {
                ApiKey = result.GetValue(ApiKey) ?? _apiKeyFromEnvironment ?? "",
                Port = result.GetValue(Port),
                DataDirectory = result.GetValue(Data) is { } data ? UserPath.Resolve(data) : null,
                AllowInsecureUrls = result.GetValue(AllowInsecureUrls),
                RateLimitPerSecond = limited ? result.GetValue(RateLimit) : null,
                AddressLimit = limited ? result.GetValue(AddressLimit) : null,
                AddressLimitWindow = ApiLimits.AddressWindow,
                Latency = TimeSpan.FromMilliseconds(result.GetValue(LatencyMs)),
                LocalDelivery = delivery,
                RedactDeleted = result.GetValue(RedactDeleted),
                SecretOnReads = result.GetValue(SecretOnReads),
                Verbose = result.GetValue(Verbose),
            };
        }

        private static int ParseInt(ArgumentResult r, string rule, int minimum = 0)
        {
            if (int.TryParse(r.Tokens.Single().Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= minimum)
            {
                return value;
            }

            r.AddError(rule);
            return 0;
        }

        private static double? ParsePositive(ArgumentResult r, string rule, double maximum)
        {
            if (double.TryParse(r.Tokens.Single().Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                && double.IsFinite(value) && value > 0 && value <= maximum)
            {
                return value;
            }

            r.AddError(rule);
            return null;
        }

        private static double ParseRate(ArgumentResult r)
        {
            if (double.TryParse(r.Tokens.Single().Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate)
                && double.IsFinite(rate) && rate > 0)
            {
                return rate;
            }

            r.AddError("--rate-limit must be a positive number of requests per second");
            return 0;
        }
    }
}
