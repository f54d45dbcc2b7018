using System.Diagnostics;
using OnceHub.TestSupport;
using Xunit.Abstractions;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>
/// kill -9 safety: the emulator, delivering for a file account as its own process, is killed with
/// <see cref="Process.Kill(bool)"/> between retries, then started again; every delivery still arrives.
/// </summary>
public class KillTests(ITestOutputHelper output)
{
    // 35 s of schedule take 117 ms, 215 s 0.72 s, attempt 4 (4535 s) comes 15 s after attempt 1.
    private const int Scale = 300;
    private const int EventsPerFamily = 20;

    [Fact]
    public async Task A_delivering_process_killed_mid_retry_and_restarted_loses_nothing()
    {
        var up = 0;
        await using var bookings = await StandInReceiver.StartAsync(_ => Volatile.Read(ref up) == 1 ? 200 : 503);
        await using var conversations = await StandInReceiver.StartAsync(_ => Volatile.Read(ref up) == 1 ? 200 : 503);
        using var account = new TempAccount();
        // The webhooks come from the provider plugin over gRPC, as `pulumi up` creates them.
        await using (var session = await ProviderSession.StartAsync())
        {
            await session.ConfigureAsync("file:" + account.Folder, allowInsecureUrls: true);
            await session.CreateWebhookAsync("bookings", bookings.UrlFor("/bookings"), "booking");
            await session.CreateWebhookAsync("conversations", conversations.UrlFor("/conversations"), "conversation");
        }
        Assert.Equal(["bookings", "conversations"], account.Webhooks.Snapshot().Select(w => w.Name));
        var triggered = new List<string>();
        using (var trigger = account.Deliverer(new LocalDeliveryOptions { Time = DeliveryTime.Scaled(Scale) }))
        {
            for (var i = 0; i < EventsPerFamily; i++)
            {
                triggered.Add((await trigger.TriggerAsync("booking.scheduled", [])).EventId);
                triggered.Add((await trigger.TriggerAsync("conversation.started", [])).EventId);
            }
        }
        using var store = new DeliveryStore(account.Folder);
        Assert.Equal(triggered.Count, store.PendingCount());

        // The child retries: wait until it has sent a retry of every delivery, then kill it between retries.
        var child = StartDeliveringEmulator(account.Folder);
        try
        {
            await DeliveryTests.WaitUntil(() => store.Log().Where(r => r.Attempt >= 2).Select(r => r.DeliveryId).Distinct().Count() == triggered.Count, 60);
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }
        var pendingBefore = store.PendingCount();
        var attemptsBefore = store.Log().Count;
        Assert.Equal(triggered.Count, pendingBefore);

        Volatile.Write(ref up, 1);
        var restarted = StartDeliveringEmulator(account.Folder);
        try
        {
            await DeliveryTests.WaitUntil(() => store.PendingCount() == 0, 90);
        }
        finally
        {
            restarted.Kill(entireProcessTree: true);
            await restarted.WaitForExitAsync();
        }

        var accepted = bookings.Requests.Concat(conversations.Requests).Where(r => r.Status == 200).ToList();
        var delivered = accepted.Select(r => r.EventId).Distinct().Count();
        var lost = triggered.Except(accepted.Select(r => r.EventId)).Count();
        var figures = $"kill test: {triggered.Count} deliveries pending before the kill ({attemptsBefore} attempts logged), " +
            $"{delivered} delivered after the restart, {lost} lost, {accepted.Count - delivered} delivered twice";
        output.WriteLine(figures);
        Console.WriteLine(figures);
        Assert.Equal(0, lost);
        Assert.Equal(triggered.Count, delivered);
        Assert.All(store.Deliveries(), d => Assert.Equal(DeliveryStatus.Delivered, d.Status));
        Assert.All(bookings.Requests, r => Assert.Equal("/bookings", r.Path));
        Assert.All(conversations.Requests, r => Assert.Equal("/conversations", r.Path));
    }

    [Fact]
    public async Task A_trigger_killed_while_its_attempts_are_in_flight_loses_nothing()
    {
        // Three receivers (three origins, so the three attempts go out at once); the first request to each, attempt
        // 1, gets no answer until the test ends.
        var held = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var receivers = new List<StandInReceiver>();
        for (var i = 0; i < 3; i++)
        {
            receivers.Add(await StandInReceiver.StartAsync(n => n == 1 ? held.Task : Task.FromResult(200)));
        }
        using var account = new TempAccount();
        for (var i = 0; i < receivers.Count; i++)
        {
            account.Add($"hook-{i}", receivers[i].UrlFor("/hook"), "booking");
        }
        try
        {
            // The trigger, as its own process, with a 3 s attempt timeout: its fan-out's lease ends 8 s after it began.
            var trigger = StartCli("trigger", "booking.scheduled", "--account", "file:" + account.Folder, "--attempt-timeout", "3");
            try
            {
                await DeliveryTests.WaitUntil(() => receivers.All(r => r.Arrived.Count == 1) || trigger.HasExited, 60);
                Assert.False(trigger.HasExited, "the trigger ended before its attempts were answered: " + string.Join('\n', Said));
            }
            finally
            {
                trigger.Kill(entireProcessTree: true);
                await trigger.WaitForExitAsync();
            }
            var eventId = receivers[0].Arrived.Single().EventId;
            using var store = new DeliveryStore(account.Folder);
            var pendingBefore = store.PendingCount();
            Assert.Equal(3, pendingBefore);
            Assert.Empty(store.Log());
            Assert.All(store.Deliveries(eventId), d => Assert.Equal((DeliveryStatus.Pending, 1), (d.Status, d.NextAttempt)));
            Assert.Equal(3, store.Deliveries(eventId).Count);

            var deliverer = StartDeliveringEmulator(account.Folder, scale: null);
            try
            {
                await DeliveryTests.WaitUntil(() => store.PendingCount() == 0, 60);
            }
            finally
            {
                deliverer.Kill(entireProcessTree: true);
                await deliverer.WaitForExitAsync();
            }

            var answered = receivers.Select(r => r.Requests.Where(q => q.Status == 200).ToList()).ToList();
            var figures = $"kill test (trigger): {pendingBefore} deliveries in flight at the kill, {answered.Sum(a => a.Count)} delivered after the restart, " +
                $"{answered.Count(a => a.Count == 0)} lost";
            output.WriteLine(figures);
            Console.WriteLine(figures);
            Assert.All(answered, a => Assert.Equal(eventId, Assert.Single(a).EventId));
            Assert.All(store.Deliveries(), d => Assert.Equal((DeliveryStatus.Delivered, 1), (d.Status, d.Attempts)));
            Assert.All(store.Log(), row => Assert.Equal((1, "accepted"), (row.Attempt, row.Outcome)));
            Assert.Equal(3, store.Log().Count);
        }
        finally
        {
            held.TrySetResult(503);
            foreach (var receiver in receivers)
            {
                await receiver.DisposeAsync();
            }
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentQueue<string> Said = new();

    private static Process StartCli(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OnceHub.Contracts.Cli.dll");
        Assert.True(File.Exists(dll), $"the CLI is built next to the tests: {dll}");
        return StartChild(dll, args);
    }

    internal static Process StartDeliveringEmulator(string folder, int? scale = Scale)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "OnceHub.Emulator.dll");
        Assert.True(File.Exists(dll), $"the emulator is built next to the tests: {dll}");
        string[] timing = scale is { } s ? ["--time-scale", s.ToString(System.Globalization.CultureInfo.InvariantCulture)] : [];
        return StartChild(dll, ["--port", "0", "--data", folder, "--allow-insecure-urls", "--deliver", .. timing, "--attempt-timeout", "2"]);
    }

    private static Process StartChild(string dll, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        start.Environment["ONCEHUB_API_KEY"] = "kill-test-key";
        var process = Process.Start(start)!;
        // Drain both pipes so a chatty child never blocks on a full one; keep what it said for a failure's message.
        process.OutputDataReceived += (_, line) => Said.Enqueue(line.Data ?? "");
        process.ErrorDataReceived += (_, line) => Said.Enqueue(line.Data ?? "");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
