using System.Diagnostics;

namespace OnceHub.Contracts.Tests;

/// <summary>The built reference receiver as a process of its own, for what only a real process shows (a kill, its environment).</summary>
internal sealed class ReceiverProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _drain;

    private ReceiverProcess(Process process, Uri url, Task drain)
    {
        _process = process;
        Url = url;
        _drain = drain;
    }

    public Uri Url { get; }

    /// <summary>Starts the receiver with <paramref name="args"/> and waits for its listening line.</summary>
    /// <param name="environment">Variables to set (a null value removes one); the secret variables are removed unless set here.</param>
    /// <param name="args">The command line.</param>
    public static async Task<ReceiverProcess> StartAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "OnceHub.Contracts.Receiver.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment.Remove("ONCEHUB_WEBHOOK_SECRET");
        info.Environment.Remove("ONCEHUB_WEBHOOK_SECRETS");
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info)!;
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            if (line is null || !line.StartsWith("listening on ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the receiver did not start: {line}{await process.StandardError.ReadToEndAsync()}");
            }
            // Both streams read to their end, so the receiver never blocks on a full pipe.
            var drain = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
            return new ReceiverProcess(process, new Uri(line["listening on ".Length..].Split(' ')[0]), drain);
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
