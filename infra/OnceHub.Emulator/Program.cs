using System.Globalization;
using OnceHub.Emulator;

// Command line: see README.md next to this file, or --help.
// Local delivery flags (--deliver, --time-scale, --virtual-time, --attempt-timeout) are read by LocalDelivery/.
var localDelivery = OnceHub.Emulator.LocalDelivery.EmulatorDeliveryFlags.Extract(args, out var emulatorArgs, out var deliveryError);
var parsed = deliveryError is null
    ? EmulatorCommandLine.Parse(emulatorArgs, Environment.GetEnvironmentVariable(EmulatorCommandLine.ApiKeyVariable))
    : (null, deliveryError);
if (parsed.Error is { } error)
{
    Console.Error.WriteLine($"oncehub-emulator: {error}");
    return 2;
}

if (parsed.Options is null)
{
    Console.WriteLine(EmulatorCommandLine.Usage + "\n" + OnceHub.Emulator.LocalDelivery.EmulatorDeliveryFlags.Usage);
    return 0;
}

try
{
    await using var server = await EmulatorServer.StartAsync(parsed.Options with { LocalDelivery = localDelivery });
    // The one line a launcher waits for.
    Console.WriteLine(server.BaseUrl);
    await server.WaitForShutdownAsync();
    return 0;
}
catch (Exception ex) when (ex is IOException or ArgumentException or OnceHub.Account.AccountStoreException)
{
    Console.Error.WriteLine($"oncehub-emulator: {ex.Message}");
    return 1;
}

/// <summary>Parses the emulator's flags into <see cref="EmulatorOptions"/>.</summary>
public static class EmulatorCommandLine
{
    public const string ApiKeyVariable = "ONCEHUB_API_KEY";

    public const string Usage =
        "usage: OnceHub.Emulator --port N --api-key K [--data DIR] [--allow-insecure-urls] [--rate-limit R] [--latency-ms M]\n" +
        "  --port N               TCP port on 127.0.0.1 (0 = any free port)\n" +
        "  --api-key K            the accepted API key (or set " + ApiKeyVariable + ")\n" +
        "  --data DIR             keep the account in DIR (the embedded local account); default: in memory\n" +
        "  --allow-insecure-urls  accept http://127.0.0.1, localhost, [::1] receiver URLs\n" +
        "  --rate-limit R         answer 429 with Retry-After above R requests per second\n" +
        "  --latency-ms M         delay every answer by M milliseconds";

    /// <summary>Options, or an error line; both null means help was asked for.</summary>
    public static (EmulatorOptions? Options, string? Error) Parse(IReadOnlyList<string> args, string? apiKeyFromEnvironment)
    {
        int? port = null;
        var options = new EmulatorOptions { ApiKey = apiKeyFromEnvironment ?? "" };
        for (var i = 0; i < args.Count; i++)
        {
            var flag = args[i];
            if (flag is "--help" or "-h")
            {
                return (null, null);
            }

            if (flag == "--allow-insecure-urls")
            {
                options = options with { AllowInsecureUrls = true };
                continue;
            }

            if (flag is not ("--port" or "--api-key" or "--data" or "--rate-limit" or "--latency-ms"))
            {
                return (null, $"unknown flag '{flag}' (try --help)");
            }

            if (i + 1 >= args.Count)
            {
                return (null, $"{flag} needs a value");
            }

            var value = args[++i];
            switch (flag)
            {
                case "--port":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > 65535)
                    {
                        return (null, "--port must be an integer 0..65535");
                    }

                    port = p;
                    break;
                case "--api-key":
                    options = options with { ApiKey = value };
                    break;
                case "--data":
                    if (string.IsNullOrWhiteSpace(value))
                    {
                        return (null, "--data must name a folder");
                    }

                    options = options with { DataDirectory = value };
                    break;
                case "--rate-limit":
                    if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || !double.IsFinite(rate) || rate <= 0)
                    {
                        return (null, "--rate-limit must be a positive number of requests per second");
                    }

                    options = options with { RateLimitPerSecond = rate };
                    break;
                default:
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms))
                    {
                        return (null, "--latency-ms must be a non-negative integer");
                    }

                    options = options with { Latency = TimeSpan.FromMilliseconds(ms) };
                    break;
            }
        }

        if (port is null)
        {
            return (null, "--port is required (0 = any free port)");
        }

        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            return (null, $"an API key is required: --api-key K or {ApiKeyVariable}");
        }

        return (options with { Port = port.Value }, null);
    }
}
