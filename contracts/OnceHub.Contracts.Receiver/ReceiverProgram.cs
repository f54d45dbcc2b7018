using System.Runtime.InteropServices;
using OnceHub.Contracts.Signing;

namespace OnceHub.Contracts.Receiver;

/// <summary>
/// <c>dotnet run --project contracts/OnceHub.Contracts.Receiver -- --port N --secret S [--secret OLD] [--db FILE]</c>.
/// The secret may come from ONCEHUB_WEBHOOK_SECRET instead, which keeps it out of process listings.
/// </summary>
public static class ReceiverProgram
{
    public const string SecretVariable = "ONCEHUB_WEBHOOK_SECRET";

    public static async Task<int> Main(string[] args)
    {
        int port = 0;
        string? db = null;
        var secrets = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            if (flag is "-h" or "--help")
            {
                Console.WriteLine("usage: OnceHub.Contracts.Receiver --port N --secret S [--secret PREVIOUS] [--db FILE]");
                Console.WriteLine($"  serves POST {ReferenceReceiver.Path} on 127.0.0.1; the secret may come from {SecretVariable};");
                Console.WriteLine($"  signature tolerance {SignatureVerifier.DefaultTolerance.TotalSeconds} s; --db keeps processed ids across restarts.");
                return 0;
            }
            if (flag is not ("--port" or "--secret" or "--db"))
            {
                return Fail($"unknown flag '{flag}' (see --help)");
            }
            if (i + 1 >= args.Length)
            {
                return Fail($"{flag} needs a value");
            }
            var value = args[++i];
            switch (flag)
            {
                case "--port" when !int.TryParse(value, out port) || port is < 0 or > 65535:
                    return Fail("--port must be a number from 0 to 65535");
                case "--secret" when value.Length == 0:
                    return Fail("--secret must not be empty");
                case "--secret":
                    secrets.Add(value);
                    break;
                case "--db":
                    db = value;
                    break;
            }
        }
        if (secrets.Count == 0 && Environment.GetEnvironmentVariable(SecretVariable) is { Length: > 0 } fromEnv)
        {
            secrets.Add(fromEnv);
        }
        if (secrets.Count == 0)
        {
            return Fail($"a webhook secret is required: --secret S or {SecretVariable}");
        }

        ReferenceReceiver receiver;
        try
        {
            receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = secrets, Port = port, DatabasePath = db });
        }
        catch (Exception ex) when (ex is IOException or Microsoft.Data.Sqlite.SqliteException or UnauthorizedAccessException)
        {
            return Fail($"cannot start: {ex.Message}");
        }
        await using (receiver)
        {
            Console.WriteLine($"listening on {receiver.Url} (Ctrl+C to stop)");
            var stop = new TaskCompletionSource();
            // Ctrl+C and SIGTERM end the wait instead of the process, so the store is closed cleanly.
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.TrySetResult();
            }
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            await stop.Task;
            Console.WriteLine($"stopped: {receiver.ProcessedCount} processed, {receiver.DuplicateCount} duplicates");
        }
        return 0;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine("error: " + message);
        return 2;
    }
}
