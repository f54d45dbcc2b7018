using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OnceHub.Account;
using OnceHub.Benchmarks.Harness;
using OnceHub.LocalDelivery;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// The local account's fan-out: deliveries/s for 1 event to 100 subscribed webhooks and for 1,000 events to 10,
/// against wrk posting the same body to the same loopback receiver; then, with 10,000 deliveries pending, the
/// deliverer's memory per pending delivery and the time from a restart to the first delivery.
/// </summary>
public static class Fanout
{
    public const string Name = "fanout";
    private const string Title = "Local fan-out (deliveries/s, each attempt signed and logged in SQLite)";
    private const string Target = "≥ 0.5× wrk";
    private const double TargetRatio = 0.5;
    private const int Connections = 64; // the deliverer's default attempts in flight
    private const string Event = "booking.scheduled";
    private const int WarmUpSeconds = 5;
    private const int MeasureSeconds = 10;

    public static async Task<Figure> RunAsync()
    {
        var wrk = await Wrk.EnsureAsync();
        var failing = 0;
        await using var receiver = await SinkReceiver.StartAsync(() => Volatile.Read(ref failing) == 1);

        // 1 event -> 100 webhooks, one event after the other.
        var wide = await MeasureAsync(receiver, webhooks: 100, events: 1, parallelTriggers: 1);
        // 1,000 events -> 10 webhooks, 8 triggers at a time (as several producers would).
        var narrow = await MeasureAsync(receiver, webhooks: 10, events: 1000, parallelTriggers: 8);

        var folder = Path.Combine(Repo.BenchFolder, "fanout");
        Directory.CreateDirectory(folder);
        var body = EventFactory.Create(Event, [], DateTimeOffset.UtcNow).Body;
        await File.WriteAllBytesAsync(Path.Combine(folder, "body.json"), body);
        var script = Path.Combine(folder, "post.lua");
        await File.WriteAllTextAsync(script, """
            local file = assert(io.open("body.json", "rb"))
            wrk.method = "POST"
            wrk.body = file:read("*a")
            file:close()
            wrk.headers["Content-Type"] = "application/json"
            wrk.headers["Oncehub-Signature"] = "t=0,s=00"

            """);
        var reference = await Wrk.RunAsync(wrk, script, new Uri(receiver.Url, "/wrk"), Connections, 10);
        // The ceiling of any deliverer built on .NET's HttpClient (as the delivery engine is): the same posts
        // from a bare HttpClient at the same concurrency, with no signing, no log and no retry policy.
        var bareClient = await BareHttpClientAsync(new Uri(receiver.Url, "/client"), body);

        // 10,000 pending: 1,000 events to 10 webhooks while the receiver is down.
        Volatile.Write(ref failing, 1);
        var (heapDelta, diskPerPending, restartToFirst) = await PendingFiguresAsync(receiver);

        var ratio = Math.Min(wide.PerSecond, narrow.PerSecond) / reference.RequestsPerSecond;
        return new Figure(Name, Title,
            $"{Format.Number(wide.PerSecond)}/s for 1 event -> 100 webhooks, {Format.Number(narrow.PerSecond)}/s for 1,000 events -> 10",
            $"{Format.Number(reference.RequestsPerSecond)}/s wrk -t2 -c{Connections}, same receiver and body",
            ratio, Target, ratio >= TargetRatio && wide.Failed + narrow.Failed + reference.Non2xx == 0,
            [
                $"after {WarmUpSeconds} s of warm-up each: 1 -> 100: {wide.Deliveries} deliveries in {Format.Seconds(wide.Seconds)}; 1,000 -> 10: {narrow.Deliveries} in {Format.Seconds(narrow.Seconds)}; failed {wide.Failed + narrow.Failed}",
                $"ratio of the slower case to wrk; the faster one: {Format.Number(Math.Max(wide.PerSecond, narrow.PerSecond) / reference.RequestsPerSecond, "0.00")}×",
                $"10,000 pending: {Format.Number(Math.Max(0, heapDelta) / 10_000.0, "0.0")} bytes of managed heap per pending delivery while waiting (the queue is in SQLite; heap with the deliverer waiting minus heap before it opened: {Format.Number(heapDelta)} bytes), {Format.Number(diskPerPending, "0")} bytes on disk each",
                $"restart to first delivery with 10,000 pending (open store + account, claim, first attempt; in process, .NET start-up not included): {Format.Ms(restartToFirst)}",
                $"receiver: a loopback Kestrel answering 200 with no work; payload {body.Length} bytes; wrk non-2xx {reference.Non2xx}, socket errors {reference.SocketErrors}",
                $"ceiling of an HttpClient deliverer: a bare HttpClient posting the same body at concurrency {Connections} (no signing, log or policy) did {Format.Number(bareClient)}/s = {Format.Number(bareClient / reference.RequestsPerSecond, "0.00")}× wrk; the deliverer reaches {Format.Number(Math.Min(wide.PerSecond, narrow.PerSecond) / bareClient, "0.00")}× of it",
            ]);
    }

    private sealed record Throughput(int Deliveries, double Seconds, int Failed)
    {
        public double PerSecond => Deliveries / Seconds;
    }

    private static async Task<Throughput> MeasureAsync(SinkReceiver receiver, int webhooks, int events, int parallelTriggers)
    {
        var account = Directory.CreateTempSubdirectory("oncehub-fanout-").FullName;
        try
        {
            var store = new FileAccountStore(account, new AccountStoreOptions { AllowInsecureUrls = true });
            for (var i = 0; i < webhooks; i++)
            {
                store.Create($"hook-{i}", new Uri(receiver.Url, $"/hook/{i}").ToString(), ["booking"]);
            }
            using var deliverer = LocalDeliverer.OpenFolder(account);
            var failed = 0;
            async Task RoundAsync()
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, events), new ParallelOptions { MaxDegreeOfParallelism = parallelTriggers }, async (_, ct) =>
                {
                    var result = await deliverer.TriggerAsync(Event, [], ct);
                    Interlocked.Add(ref failed, result.Webhooks.Count(w => w.Kind != WebhookOutcomeKind.Delivered));
                });
            }

            // Warm-up (connections, JIT tiers, SQLite pages), then whole rounds for at least MeasureSeconds:
            // a deliverer runs for hours, so its steady rate is the figure, not its first second.
            var warm = Stopwatch.StartNew();
            while (warm.Elapsed < TimeSpan.FromSeconds(WarmUpSeconds))
            {
                await RoundAsync();
            }
            Progress.Line($"{Name}: {events} event(s) -> {webhooks} webhooks, rounds for {MeasureSeconds} s after {WarmUpSeconds} s of warm-up");
            failed = 0;
            var rounds = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(MeasureSeconds))
            {
                await RoundAsync();
                rounds++;
            }
            return new Throughput(rounds * events * webhooks, clock.Elapsed.TotalSeconds, failed);
        }
        finally
        {
            Directory.Delete(account, recursive: true);
        }
    }

    private static async Task<double> BareHttpClientAsync(Uri url, byte[] body)
    {
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Connections, UseProxy = false, UseCookies = false });
        async Task<long> RunAsync(TimeSpan duration)
        {
            long sent = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => Task.Run(async () =>
            {
                while (clock.Elapsed < duration)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                    using var response = await client.SendAsync(request);
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new BenchmarkException($"the bare client got {(int)response.StatusCode}");
                    }
                    Interlocked.Increment(ref sent);
                }
            })));
            return sent;
        }

        Progress.Line($"{Name}: a bare HttpClient, {WarmUpSeconds} s warm-up and {MeasureSeconds} s");
        await RunAsync(TimeSpan.FromSeconds(WarmUpSeconds));
        return await RunAsync(TimeSpan.FromSeconds(MeasureSeconds)) / (double)MeasureSeconds;
    }

    private static async Task<(long HeapDelta, double DiskPerPending, double RestartToFirstMs)> PendingFiguresAsync(SinkReceiver receiver)
    {
        var account = Directory.CreateTempSubdirectory("oncehub-pending-").FullName;
        try
        {
            var store = new FileAccountStore(account, new AccountStoreOptions { AllowInsecureUrls = true });
            for (var i = 0; i < 10; i++)
            {
                store.Create($"hook-{i}", new Uri(receiver.Url, $"/hook/{i}").ToString(), ["booking"]);
            }
            Progress.Line($"{Name}: 10,000 pending deliveries (receiver down)");
            // Real time: attempt 2 of each is due 35 s after attempt 1, so the waiting deliverer below has nothing
            // due while its memory is measured. (A scaled clock made them due at once: it was delivering then.)
            using (var trigger = LocalDeliverer.OpenFolder(account))
            {
                await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                    async (_, ct) => await trigger.TriggerAsync(Event, [], ct));
                if (trigger.Store.PendingCount() != 10_000)
                {
                    throw new BenchmarkException($"expected 10,000 pending deliveries, found {trigger.Store.PendingCount()}");
                }
            }
            var disk = new FileInfo(Path.Combine(account, DeliveryStore.FileName)).Length
                + (File.Exists(Path.Combine(account, DeliveryStore.FileName + "-wal")) ? new FileInfo(Path.Combine(account, DeliveryStore.FileName + "-wal")).Length : 0);

            // Memory: a deliverer waiting on 10,000 pending deliveries (real time: none due for 35 s) vs the empty heap.
            var heapBefore = Heap();
            using (var waiting = LocalDeliverer.OpenFolder(account))
            {
                using var stop = new CancellationTokenSource();
                var run = waiting.RunAsync(null, stop.Token);
                await Task.Delay(500);
                var heapWaiting = Heap();
                await stop.CancelAsync();
                await run;
                var heapDelta = heapWaiting - heapBefore;

                if (waiting.Store.Log().Count != 10_000)
                {
                    throw new BenchmarkException($"the waiting deliverer sent attempts ({waiting.Store.Log().Count - 10_000}): its memory was not measured idle");
                }

                // Restart after an outage: a new deliverer on the same folder whose clock reads 40 s later, so every
                // delivery is overdue; time to the receiver's first request.
                await Task.Delay(100);
                var seen = receiver.Count;
                var clock = Stopwatch.StartNew();
                var later = new LocalDeliveryOptions { Time = DeliveryTime.Real(new ShiftedClock(TimeSpan.FromSeconds(40))) };
                using var restarted = LocalDeliverer.OpenFolder(account, later);
                using var stopRestarted = new CancellationTokenSource();
                var resumed = restarted.RunAsync(null, stopRestarted.Token);
                while (receiver.Count == seen)
                {
                    if (clock.Elapsed > TimeSpan.FromSeconds(30))
                    {
                        throw new BenchmarkException("no delivery within 30 s of the restart");
                    }
                    await Task.Yield();
                }
                var restartMs = clock.Elapsed.TotalMilliseconds;
                await stopRestarted.CancelAsync();
                await resumed;
                return (heapDelta, disk / 10_000.0, restartMs);
            }
        }
        finally
        {
            Directory.Delete(account, recursive: true);
        }
    }

    /// <summary>The system clock moved forward by a fixed span: a restart that comes after the attempts fell due.</summary>
    private sealed class ShiftedClock(TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
    }

    private static long Heap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>A loopback receiver that reads the body and answers 200 (or 503 while told to fail), counting requests.</summary>
    private sealed class SinkReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _count;

        private SinkReceiver(WebApplication app) => _app = app;

        public Uri Url { get; private set; } = null!;

        public int Count => Volatile.Read(ref _count);

        public static async Task<SinkReceiver> StartAsync(Func<bool> failing)
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
            builder.WebHost.UseKestrelCore();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            var self = new SinkReceiver(app);
            app.Run(async context =>
            {
                await context.Request.Body.CopyToAsync(Stream.Null);
                Interlocked.Increment(ref self._count);
                context.Response.StatusCode = failing() ? 503 : 200;
            });
            await app.StartAsync();
            self.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return self;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
