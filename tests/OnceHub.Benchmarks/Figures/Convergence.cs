using System.Diagnostics;
using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using OnceHub.Benchmarks.Harness;
using OnceHub.Emulator;
using OnceHub.TestSupport;
using Pulumirpc;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// Convergence: 100 webhooks created concurrently through one plugin process, as <c>pulumi up</c> drives
/// a fresh stack (Check, then Create with the checked inputs), against the emulator at OnceHub's
/// documented limits (5 requests/s per account, 200 per 5 minutes per address), then at 10 requests/s.
/// The ideal is the rate limit itself: 100 requests at 5/s take 20 s. The figure is the requests sent
/// per webhook created (every 429 is budget spent for nothing) and the wall time against the ideal.
/// </summary>
public static class Convergence
{
    public const string Name = "convergence";
    private const string Title = "Convergence (100 concurrent Creates, API at OnceHub's documented 5 req/s)";
    private const string Target = "≤ 1.1 req/webhook, ≤ 1.2× ideal, 0 dup, 0 fail";
    private const int Resources = 100;
    private const double DocumentedRate = 5;
    private const double FasterRate = 10;
    private const double TargetRatio = 1.2;
    private const double TargetRequestsPerWebhook = 1.1;

    public static async Task<Figure> RunAsync()
    {
        var binary = await Artifacts.PluginAsync();
        var documented = await RunAtAsync(binary, DocumentedRate);
        var faster = await RunAtAsync(binary, FasterRate);

        var notes = new List<string>();
        notes.AddRange(documented.Notes);
        notes.Add($"at {FasterRate} req/s: {Format.Seconds(faster.Wall)} wall against {Format.Seconds(faster.Ideal)} ideal ({Format.Number(faster.Ratio, "0.00")}×), "
            + $"{Format.Number(faster.RequestsPerWebhook, "0.00")} requests per webhook, {faster.Duplicates} duplicates, {faster.Failures} failures; "
            + $"the client paces at OnceHub's documented {DocumentedRate}/s by default, so a faster API is not used faster");
        notes.AddRange(faster.Notes.Skip(1).Select(n => $"at {FasterRate} req/s: {n}"));

        var pass = documented.Ratio <= TargetRatio && documented.RequestsPerWebhook <= TargetRequestsPerWebhook
            && documented.Duplicates == 0 && documented.Failures == 0 && documented.Orphans == 0;
        return new Figure(Name, Title,
            $"{Format.Number(documented.RequestsPerWebhook, "0.00")} req/webhook, {Format.Seconds(documented.Wall)} wall, {documented.Duplicates} duplicates, {documented.Failures} failures",
            $"{Format.Seconds(documented.Ideal)} ideal ({Resources} requests at {DocumentedRate}/s)",
            documented.Ratio, Target, pass, notes);
    }

    private sealed record Run(double Wall, double Ideal, double Ratio, double RequestsPerWebhook, int Duplicates, int Failures, int Orphans, List<string> Notes);

    private static async Task<Run> RunAtAsync(string binary, double rate)
    {
        var apiKey = "bench-" + RandomNumberGenerator.GetHexString(24, lowercase: true);
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = apiKey }.WithDocumentedLimits() with { RateLimitPerSecond = rate });
        await using var engine = await FakeEngine.StartAsync();
        await using var plugin = await PluginProcess.StartAsync(binary, engine.Address, flags: [], workingDirectory: Path.GetDirectoryName(binary)!);
        var client = plugin.Client;

        // What the engine does before any resource: handshake, then Configure with the stack's config.
        await client.HandshakeAsync(new ProviderHandshakeRequest { EngineAddress = engine.Address });
        var config = new Struct();
        config.Fields["apiUrl"] = Value.ForString(emulator.BaseUrl.ToString());
        config.Fields["apiKey"] = Props.Secret(Value.ForString(apiKey));
        await client.ConfigureAsync(new ConfigureRequest { Args = config, AcceptSecrets = true, AcceptResources = true });

        Progress.Line($"{Name}: {Resources} concurrent Check → Create calls; the emulator allows {rate} requests/s and 200 per 5 minutes");
        using var sampling = new CancellationTokenSource();
        var timeline = SampleAsync(emulator, sampling.Token);
        var clock = Stopwatch.StartNew();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, Resources).Select(i => CreateOneAsync(client, i, clock)));
        var wall = clock.Elapsed.TotalSeconds;
        await sampling.CancelAsync();
        var perSecond = await timeline;

        var created = outcomes.Where(o => o.Id is not null).ToList();
        var failures = outcomes.Where(o => o.Error is not null).ToList();
        var webhooks = emulator.Webhooks;
        var knownIds = created.Select(o => o.Id!).ToHashSet(StringComparer.Ordinal);
        var duplicates = Math.Max(0, webhooks.Count - Resources)
            + (webhooks.Count - webhooks.Select(w => w.Name).Distinct(StringComparer.Ordinal).Count());
        var orphans = webhooks.Count(w => !knownIds.Contains(w.Id));

        // Every request the API saw, not only POSTs: a GET spent on reconciling costs budget too.
        var requests = emulator.RequestCount;
        var posts = emulator.Requests.Where(r => r.StartsWith("POST ", StringComparison.Ordinal)).ToList();
        var limited = emulator.Requests.Count(r => r.EndsWith("-> 429", StringComparison.Ordinal));
        var accepted = posts.Count(r => r.Contains("-> 2", StringComparison.Ordinal));
        var ideal = Resources / rate;
        var perWebhook = created.Count > 0 ? (double)requests / created.Count : double.PositiveInfinity;

        var notes = new List<string>
        {
            $"{created.Count} created, {failures.Count} failed; {webhooks.Count} webhooks in the emulator, {duplicates} duplicates, {orphans} not reported to the engine",
            $"the emulator saw {requests} requests for {created.Count} webhooks ({Format.Number(perWebhook, "0.00")} per webhook): {posts.Count} POSTs, {accepted} accepted, {limited} answered 429",
            $"Create latency p50 {Format.Seconds(Stats.Median(outcomes.Select(o => o.Seconds).ToList()))}, p90 {Format.Seconds(Stats.Quantile(outcomes.Select(o => o.Seconds).ToList(), 0.9))}, max {Format.Seconds(outcomes.Max(o => o.Seconds))}",
            "per second (POSTs/429s/created): " + string.Join(" ", perSecond.Select(s => $"{s.Posts}/{s.Limited}/{s.Created}")),
        };
        foreach (var group in failures.GroupBy(f => f.Error!.Replace(f.Resource, "<name>", StringComparison.Ordinal)).OrderByDescending(g => g.Count()).Take(3))
        {
            notes.Add($"{group.Count()} failed with: {group.Key}");
        }

        return new Run(wall, ideal, wall / ideal, perWebhook, duplicates, failures.Count, orphans, notes);
    }

    private sealed record Outcome(string Resource, string? Id, string? Error, double Seconds);

    private sealed record SecondSample(int Posts, int Limited, int Created);

    private static async Task<Outcome> CreateOneAsync(ResourceProvider.ResourceProviderClient client, int index, Stopwatch clock)
    {
        var name = $"bench-{index:000}";
        var urn = $"urn:pulumi:bench::oncehub-bench::{ProviderSession.WebhookType}::{name}";
        var news = new Struct();
        news.Fields["name"] = Value.ForString(name);
        news.Fields["url"] = Value.ForString($"https://hooks.example.com/oncehub/{index}");
        news.Fields["events"] = Value.ForList(Value.ForString("booking"), Value.ForString("conversation.closed"));
        try
        {
            var check = await client.CheckAsync(new CheckRequest
            {
                Urn = urn,
                Name = name,
                Type = ProviderSession.WebhookType,
                News = news,
                Olds = new Struct(),
                RandomSeed = ByteString.CopyFrom(RandomNumberGenerator.GetBytes(32)),
            });
            if (check.Failures.Count > 0)
            {
                return new Outcome(name, null, "Check refused: " + string.Join("; ", check.Failures.Select(f => $"{f.Property}: {f.Reason}")), clock.Elapsed.TotalSeconds);
            }

            var created = await client.CreateAsync(new CreateRequest
            {
                Urn = urn,
                Name = name,
                Type = ProviderSession.WebhookType,
                Properties = check.Inputs,
                Timeout = 300,
            });
            return created.Id.StartsWith("WHK-", StringComparison.Ordinal)
                ? new Outcome(name, created.Id, null, clock.Elapsed.TotalSeconds)
                : new Outcome(name, null, $"Create answered an id that is not a webhook id: '{created.Id}'", clock.Elapsed.TotalSeconds);
        }
        catch (RpcException e)
        {
            var detail = e.Status.Detail.Length > 160 ? e.Status.Detail[..160] + "…" : e.Status.Detail;
            return new Outcome(name, null, $"{e.StatusCode}: {detail}", clock.Elapsed.TotalSeconds);
        }
    }

    /// <summary>POSTs, 429s and creates per wall-clock second, from the emulator's request log.</summary>
    private static async Task<List<SecondSample>> SampleAsync(EmulatorServer emulator, CancellationToken stop)
    {
        var samples = new List<SecondSample>();
        (int Posts, int Limited, int Created) previous = (0, 0, 0);
        var running = true;
        while (running)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            }
            catch (OperationCanceledException)
            {
                running = false;
            }

            var posts = emulator.Requests.Where(r => r.StartsWith("POST ", StringComparison.Ordinal)).ToList();
            var now = (Posts: posts.Count,
                Limited: posts.Count(r => r.EndsWith("-> 429", StringComparison.Ordinal)),
                Created: posts.Count(r => r.Contains("-> 2", StringComparison.Ordinal)));
            if (running || now != previous)
            {
                samples.Add(new SecondSample(now.Posts - previous.Posts, now.Limited - previous.Limited, now.Created - previous.Created));
            }

            previous = now;
        }

        return samples;
    }
}
