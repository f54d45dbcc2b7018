using System.Diagnostics;

namespace OnceHub.TestSupport;

/// <summary>
/// The built reference receiver as a process of its own, for what only a real process shows (a kill, its memory,
/// its environment); tests and benchmarks that reference the receiver project find it beside them.
/// </summary>
public sealed class ReceiverProcess : IAsyncDisposable
{
    /// <summary>The receiver's assembly, copied beside every project that references it.</summary>
    public const string Dll = "OnceHub.Contracts.Receiver.dll";

    private const string ListeningPrefix = "listening on ";
    private const string SecretVariable = "ONCEHUB_WEBHOOK_SECRET";

    private readonly Process _process;
    private readonly Task _drain;

    private ReceiverProcess(Process process, Uri url, Task drain)
    {
        _process = process;
        Url = url;
        _drain = drain;
    }

    /// <summary>The URL from the receiver's listening line.</summary>
    public Uri Url { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts the receiver with <paramref name="secret"/> as its signing secret, as a deployment passes it (the environment).</summary>
    public static Task<ReceiverProcess> StartWithSecretAsync(string secret, params string[] args) =>
        StartAsync(new Dictionary<string, string?> { [SecretVariable] = secret }, args);

    /// <summary>Starts the receiver with <paramref name="args"/> and waits for its listening line.</summary>
    /// <param name="environment">Variables to set (a null value removes one); the secret variables are removed unless set here.</param>
    /// <param name="args">The command line.</param>
    public static async Task<ReceiverProcess> StartAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var info = DotnetCommand.StartInfo("dotnet", AppContext.BaseDirectory, [Path.Combine(AppContext.BaseDirectory, Dll), .. args]);
        info.Environment.Remove(SecretVariable);
        info.Environment.Remove("ONCEHUB_WEBHOOK_SECRETS");
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the reference receiver");
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(Deadline.Seconds(30));
            if (line is null || !line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the reference receiver did not start: {line}{await process.StandardError.ReadToEndAsync()}");
            }
            // Both streams read to their end, so the receiver never blocks on a full pipe.
            var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
            return new ReceiverProcess(process, new Uri(line[ListeningPrefix.Length..].Split(' ')[0]), drain);
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGKILL: the process gets no chance to close or flush anything.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
        await _drain;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }
        _process.Dispose();
    }
}
