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
        return 0;
    }
    catch (Exception ex) when (ex is IOException or ArgumentException or OnceHub.Account.AccountStoreException)
    {
        Console.Error.WriteLine($"oncehub-emulator: {ex.Message}");
        return 1;
    }
}
