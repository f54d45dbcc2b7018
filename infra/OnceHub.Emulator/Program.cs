using OnceHub.Contracts.CommandLine;
using OnceHub.Emulator;

// Command line: see README.md next to this file, or --help.
return await EmulatorCommandLine.InvokeAsync(
    args, Environment.GetEnvironmentVariable(EmulatorCommandLine.ApiKeyVariable), Console.Out, Console.Error, RunAsync);

static async Task<int> RunAsync(EmulatorOptions options, CancellationToken ct)
{
    try
    {
        await using var server = await EmulatorServer.StartAsync(options, ct);
        // The one line a launcher waits for.
        Console.WriteLine(server.BaseUrl);
        await server.WaitForShutdownAsync(ct);
        return ExitCodes.Ok;
    }
    catch (Exception ex) when (ex is IOException or ArgumentException or OnceHub.Account.AccountStoreException)
    {
        // A port in use, an unreadable account folder: the command line asked for what cannot be, so bad input.
        Console.Error.WriteLine(CommandLineErrors.Line(ex.Message));
        return ExitCodes.BadInput;
    }
}
