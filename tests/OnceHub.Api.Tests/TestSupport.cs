using System.Collections.Concurrent;
using System.Diagnostics;
using OnceHub.Emulator;
using Xunit.Abstractions;

namespace OnceHub.Api.Tests;

/// <summary>
/// A clock for the client's retry waits: records every wait asked for and advances its own time by
/// it, firing at once (or after the real wait, when asked), so tests check what was waited without
/// sleeping through backoff.
/// </summary>
internal sealed class RecordingTimeProvider(DateTimeOffset start, bool realWaits = false) : TimeProvider
{
    private readonly ConcurrentQueue<TimeSpan> _waits = new();
    private long _elapsedTicks;

    public IReadOnlyList<TimeSpan> Waits => [.. _waits];

    public override DateTimeOffset GetUtcNow() => start + TimeSpan.FromTicks(Interlocked.Read(ref _elapsedTicks));

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            _waits.Enqueue(dueTime);
            Interlocked.Add(ref _elapsedTicks, dueTime.Ticks);
            if (!realWaits)
            {
                dueTime = TimeSpan.Zero;
            }
        }

        return System.CreateTimer(callback, state, dueTime, period);
    }
}

/// <summary>An emulator plus a client pointed at it, with the client's log lines captured.</summary>
internal sealed class Harness : IAsyncDisposable
{
    public const string ApiKey = "test-key-5f1c9a0e7b3d42c8";

    private readonly ConcurrentQueue<string> _log = new();
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private Harness(EmulatorServer server, ITestOutputHelper output)
    {
        Server = server;
        _output = output;
    }

    public EmulatorServer Server { get; }

    public RecordingTimeProvider Time { get; private set; } = null!;

    public IWebhookApi Client { get; private set; } = null!;

    public IReadOnlyList<string> Log => [.. _log];

    public static async Task<Harness> StartAsync(
        ITestOutputHelper output,
        EmulatorOptions? emulator = null,
        Func<OnceHubClientOptions, OnceHubClientOptions>? client = null,
        RecordingTimeProvider? time = null)
    {
        var server = await EmulatorServer.StartAsync((emulator ?? new EmulatorOptions()) with { ApiKey = ApiKey, Port = 0 });
        var harness = new Harness(server, output);
        harness.Time = time ?? new RecordingTimeProvider(DateTimeOffset.UtcNow);
        var options = new OnceHubClientOptions
        {
            BaseUrl = server.BaseUrl,
            ApiKey = ApiKey,
            MaxAttempts = 4,
            AttemptTimeout = TimeSpan.FromSeconds(10),
            TotalTimeout = TimeSpan.FromSeconds(60),
            TimeProvider = harness.Time,
            // Unpaced unless a test asks: most tests are about single calls and faults, not the budget.
            RequestsPerSecond = null,
            RequestsPerWindow = null,
        };
        harness.Client = OnceHubClient.Create(client?.Invoke(options) ?? options, harness.Record);
        return harness;
    }

    public void Record(string line)
    {
        _log.Enqueue(line);
        _output.WriteLine($"client log: {line}");
    }

    /// <summary>Prints what a fault test showed: attempts, time, waits asked for, webhooks left.</summary>
    public void Report(string title)
    {
        _output.WriteLine($"== {title}");
        _output.WriteLine($"attempts (requests the emulator saw): {Server.RequestCount}");
        foreach (var request in Server.Requests)
        {
            _output.WriteLine($"  {request}");
        }

        _output.WriteLine($"time taken: {_clock.Elapsed.TotalMilliseconds:0} ms (real); retry waits asked for: [{string.Join(", ", Time.Waits.Select(w => $"{w.TotalSeconds:0.###} s"))}]");
        var left = Server.Webhooks;
        _output.WriteLine($"webhooks left: {left.Count}{(left.Count > 0 ? ": " + string.Join("; ", left.Select(w => $"{w.Id} '{w.Name}'")) : "")}");
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}

internal static class Secrets
{
    /// <summary>Fails when any of <paramref name="secrets"/> appears in the text.</summary>
    public static void AssertAbsent(string? text, params string?[] secrets)
    {
        foreach (var secret in secrets)
        {
            if (!string.IsNullOrEmpty(secret) && text is not null)
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }
    }

    public static void AssertAbsent(Exception ex, params string?[] secrets)
    {
        AssertAbsent(ex.Message, secrets);
        AssertAbsent(ex.ToString(), secrets);
    }
}

internal static class TempDir
{
    public static string Create()
    {
        var path = Path.Combine(Path.GetTempPath(), "oncehub-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Leftover temp folders are harmless; a failed cleanup must not fail a test.
        }
    }
}

/// <summary>Starts the built emulator as its own process, the way a developer or a benchmark would.</summary>
internal static class EmulatorProcess
{
    public static Process Start(IEnumerable<string> args, string? apiKeyVariable = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OnceHub.Emulator.dll");
        Assert.True(File.Exists(dll), $"the emulator is built next to the tests: {dll}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["ONCEHUB_API_KEY"] = apiKeyVariable;
        return Process.Start(start)!;
    }

    /// <summary>Starts the emulator and collects its stderr lines as they come.</summary>
    public static Process StartReadingStderr(IEnumerable<string> args, out System.Collections.Concurrent.ConcurrentQueue<string> stderr)
    {
        var process = Start(args);
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lines.Enqueue(e.Data);
            }
        };
        process.BeginErrorReadLine();
        stderr = lines;
        return process;
    }
}
