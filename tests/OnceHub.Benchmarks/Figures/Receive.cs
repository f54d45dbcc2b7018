using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.Webhooks;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// The library endpoint (<c>MapOnceHubWebhooks</c>) with the durable store (a SQLite file, WAL) against a bare
/// Kestrel endpoint that reads the body and answers 200, both under the same load: 32 concurrent deliveries,
/// each validly signed with a fresh event id, by the project's delivery engine. Then a per-stage profile of
/// the receiving rules over the same kind of bodies, to say where the time goes.
/// </summary>
public static class Receive
{
    public const string Name = "receive";
    private const string Title = "Library endpoint, SQLite file store, fresh ids (deliveries/s, concurrency 32)";
    private const string Target = "≥ 0.5× bare, p99 ≤ 10 ms";
    private const int Concurrency = 32;
    private const int Seconds = 10;
    // Long enough for the tiered JIT to finish with the library's code paths (schema validation runs only 100
    // times a second, so its methods reach the optimised tier late): a receiver is measured as it runs for days.
    private const int WarmUpSeconds = 15;
    private const int ProfileEvents = 5000;

    public static async Task<Figure> RunAsync()
    {
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var folder = Path.Combine(Repo.BenchFolder, "receive");
        Directory.CreateDirectory(folder);
        var database = Path.Combine(folder, $"events-{Environment.ProcessId}.db");
        var sample = ContractResources.ReadSample("booking.scheduled");
        var signer = new WebhookSigner(secret);
        using var engine = new DeliveryEngine();

        Progress.Line($"{Name}: {WarmUpSeconds} s warm-up and {Seconds} s each: library endpoint (SQLite file, synchronous NORMAL then FULL), bare endpoint; then a profile of {ProfileEvents} events");
        Measured library, full, bare;
        async Task<Measured> LibraryAsync(string file, SqliteSynchronous synchronous)
        {
            await using var app = await StartAsync(b =>
            {
                b.Services.AddOnceHubWebhooks(o =>
                {
                    o.Secrets.Add(secret);
                    o.DatabasePath = file;
                    o.SqliteSynchronous = synchronous;
                });
            }, a => a.MapOnceHubWebhooks("/webhooks/oncehub", h => h.OnAnyEvent((_, _) => Task.CompletedTask)));
            return await MeasureAsync(engine, new Uri(app.Url, "/webhooks/oncehub"), sample, signer);
        }
        library = await LibraryAsync(database, SqliteSynchronous.Normal);
        // What surviving a power loss costs: every group commit synced to the disk.
        full = await LibraryAsync(Path.Combine(folder, $"events-full-{Environment.ProcessId}.db"), SqliteSynchronous.Full);
        await using (var app = await StartAsync(_ => { }, a => a.MapPost("/webhooks/oncehub", async (HttpContext http) =>
        {
            await http.Request.Body.CopyToAsync(Stream.Null);
            return Results.Ok();
        })))
        {
            bare = await MeasureAsync(engine, new Uri(app.Url, "/webhooks/oncehub"), sample, signer);
        }

        var profile = Profile(secret, sample, Path.Combine(folder, $"profile-{Environment.ProcessId}.db"));
        foreach (var file in Directory.EnumerateFiles(folder, $"*-{Environment.ProcessId}.db*"))
        {
            File.Delete(file);
        }

        var ratio = library.Load.PerSecond / bare.Load.PerSecond;
        var failures = library.Load.Failed + full.Load.Failed + bare.Load.Failed;
        return new Figure(Name, Title,
            $"{Format.Number(library.Load.PerSecond)}/s, p99 {Format.Ms(library.Load.P99Ms)}, SQLite file store",
            $"{Format.Number(bare.Load.PerSecond)}/s, p99 {Format.Ms(bare.Load.P99Ms)}, bare Kestrel endpoint reading the body",
            ratio, Target, ratio >= 0.5 && library.Load.P99Ms <= 10 && failures == 0,
            [
                $"client and servers in this process: the delivery engine, 32 workers, each delivery a new event id signed afresh ({sample.Length}-byte booking.scheduled sample)",
                $"p50 {Format.Ms(library.Load.P50Ms)} library, {Format.Ms(bare.Load.P50Ms)} bare; non-2xx: {failures}",
                $"with SqliteSynchronous.Full (survives a power loss): {Format.Number(full.Load.PerSecond)}/s, p50 {Format.Ms(full.Load.P50Ms)}, p99 {Format.Ms(full.Load.P99Ms)} ({Format.Number(full.Load.PerSecond / library.Load.PerSecond, "0.00")}× Normal)",
                $"allocated per delivery (client included, same client both runs): {Format.Number(library.BytesPerRequest)} B library, {Format.Number(bare.BytesPerRequest)} B bare, so about {Format.Number(library.BytesPerRequest - bare.BytesPerRequest)} B by the library",
                $"profile, one thread, mean per event over {ProfileEvents}: " + string.Join(", ", profile.Select(p => $"{p.Stage} {Format.Number(p.Microseconds, "0.0")} µs")),
            ]);
    }

    private sealed record Measured(Load Load, double BytesPerRequest);

    private sealed class Host(WebApplication app, Uri url) : IAsyncDisposable
    {
        public Uri Url { get; } = url;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static async Task<Host> StartAsync(Action<WebApplicationBuilder> configure, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.AddServerHeader = false;
        });
        configure(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Host(app, new Uri(address));
    }

    private static async Task<Measured> MeasureAsync(DeliveryEngine engine, Uri url, byte[] sample, WebhookSigner signer)
    {
        Task<AttemptResult> Deliver() => engine.SendAsync(url, ContractSuite.WithNewEventId(sample), signer);
        await DeliveryLoad.RunAsync(Concurrency, TimeSpan.FromSeconds(WarmUpSeconds), Deliver);
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var load = await DeliveryLoad.RunAsync(Concurrency, TimeSpan.FromSeconds(Seconds), Deliver);
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        var requests = load.PerSecond * Seconds;
        return new Measured(load, requests > 0 ? allocated / requests : 0);
    }

    // The stages of WebhookPipeline.ReceiveAsync one by one, on bodies with fresh ids, each timed alone.
    private static List<(string Stage, double Microseconds)> Profile(string secret, byte[] sample, string database)
    {
        var bodies = Enumerable.Range(0, ProfileEvents).Select(_ => ContractSuite.WithNewEventId(sample)).ToArray();
        var signer = new WebhookSigner(secret);
        var headers = bodies.Select(b => signer.CreateHeader(b)).ToArray();
        var verifier = new SignatureVerifier(secret);
        var validator = PayloadValidator.Default;
        using var store = new SqliteEventStore(database);
        var pipeline = new WebhookPipeline(new WebhookPipelineOptions { Secrets = [secret] }, new InMemoryEventStore());
        var ids = bodies.Select(b => System.Text.Json.JsonDocument.Parse(b).RootElement.GetProperty("id").GetString()!).ToArray();
        var now = DateTimeOffset.UtcNow;

        double Time(Action<int> stage)
        {
            stage(0);
            var clock = Stopwatch.StartNew();
            for (var i = 1; i < bodies.Length; i++)
            {
                stage(i);
            }
            return clock.Elapsed.TotalMicroseconds / (bodies.Length - 1);
        }

        // The store's throughput: every claim queued at once, then every settle, as a loaded receiver would.
        double Concurrently()
        {
            var clock = Stopwatch.StartNew();
            Task.WhenAll(ids.Select(id => store.TryBeginAsync(id, "booking.scheduled", now, now.AddMinutes(2)).AsTask())).GetAwaiter().GetResult();
            Task.WhenAll(ids.Select(id => store.SettleAsync(id, "booking.scheduled", SettledAs.Processed, now).AsTask())).GetAwaiter().GetResult();
            return clock.Elapsed.TotalMicroseconds / ids.Length;
        }

        return
        [
            ("verify", Time(i => verifier.Verify(headers[i], bodies[i]))),
            ("parse envelope", Time(i => System.Text.Json.JsonDocument.Parse(bodies[i]).Dispose())),
            ("schema validation", Time(i => validator.Check(bodies[i]))),
            ("typed read", Time(i => Webhooks.Events.OnceHubEvent.Parse(bodies[i]))),
            ("SQLite file claim + settle (all events at once, group commit)", Concurrently()),
            ("whole pipeline, in-memory store", Time(i => pipeline.ReceiveAsync(headers[i], bodies[i]).GetAwaiter().GetResult())),
        ];
    }
}
