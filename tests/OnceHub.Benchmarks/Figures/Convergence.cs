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
/// a fresh stack (Check, then Create with the checked inputs), against the emulator limited to 10
/// requests/s. The ideal is the rate limit itself: 100 requests at 10/s take 10 s.
/// </summary>
public static class Convergence
{
    public const string Name = "convergence";
    private const string Title = "Convergence (100 concurrent Creates, API at 10 req/s)";
    private const string Target = "≤ 1.2× ideal, 0 dup, 0 fail";
    private const int Resources = 100;
    private const double RatePerSecond = 10;
    private const double TargetRatio = 1.2;

    public static async Task<Figure> RunAsync()
    {
        var binary = await Artifacts.PluginAsync();
        var apiKey = "bench-" + RandomNumberGenerator.GetHexString(24, lowercase: true);
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = apiKey, RateLimitPerSecond = RatePerSecond });
        await using var engine = await FakeEngine.StartAsync();
        await using var plugin = await PluginProcess.StartAsync(binary, engine.Address, flags: [], workingDirectory: Path.GetDirectoryName(binary)!);
        var client = plugin.Client;

        // What the engine does before any resource: handshake, then Configure with the stack's config.
        await client.HandshakeAsync(new ProviderHandshakeRequest { EngineAddress = engine.Address });
        var config = new Struct();
        config.Fields["apiUrl"] = Value.ForString(emulator.BaseUrl.ToString());
        config.Fields["apiKey"] = Props.Secret(Value.ForString(apiKey));
        await client.ConfigureAsync(new ConfigureRequest { Args = config, AcceptSecrets = true, AcceptResources = true });

        Progress.Line($"{Name}: {Resources} concurrent Check → Create calls; the emulator allows {RatePerSecond} requests/s");
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

        var posts = emulator.Requests.Where(r => r.StartsWith("POST ", StringComparison.Ordinal)).ToList();
        var limited = posts.Count(r => r.EndsWith("-> 429", StringComparison.Ordinal));
        var accepted = posts.Count(r => r.Contains("-> 2", StringComparison.Ordinal));
        var ideal = Resources / RatePerSecond;
        var ratio = wall / ideal;

        var notes = new List<string>
        {
            $"{created.Count} created, {failures.Count} failed; {webhooks.Count} webhooks in the emulator, {duplicates} duplicates, {orphans} not reported to the engine",
            $"the emulator saw {posts.Count} POSTs for {Resources} webhooks: {accepted} accepted, {limited} answered 429 ({Format.Number((double)posts.Count / Resources, "0.0")} attempts per Create)",
            $"Create latency p50 {Format.Seconds(Stats.Median(outcomes.Select(o => o.Seconds).ToList()))}, p90 {Format.Seconds(Stats.Quantile(outcomes.Select(o => o.Seconds).ToList(), 0.9))}, max {Format.Seconds(outcomes.Max(o => o.Seconds))}",
            "per second (POSTs/429s/created): " + string.Join(" ", perSecond.Select(s => $"{s.Posts}/{s.Limited}/{s.Created}")),
        };
        if (created.Count > 0)
        {
            var useful = accepted / (Math.Ceiling(wall) * RatePerSecond);
            notes.Add($"the API's capacity was {Format.Number(useful * 100)}% used: {accepted} creates in {Format.Number(Math.Ceiling(wall))} s of a 10/s budget");
        }

        foreach (var group in failures.GroupBy(f => f.Error!.Replace(f.Resource, "<name>", StringComparison.Ordinal)).OrderByDescending(g => g.Count()).Take(3))
        {
            notes.Add($"{group.Count()} failed with: {group.Key}");
        }

        if (limited > 0 && (failures.Count > 0 || ratio > TargetRatio))
        {
            // Read from the per-second line: how many distinct seconds saw POSTs, and whether each second's
            // POSTs were all the Creates still waiting (synchronised retries) rather than a spread.
            var waves = perSecond.Count(s => s.Posts > 0);
            var synchronised = perSecond.Where(s => s.Posts > 0).Zip(perSecond.Skip(1).Where(s => s.Posts > 0))
                .All(p => p.Second.Posts == p.First.Posts - p.First.Created);
            notes.Add("where the time goes: the emulator's 429s carry Retry-After: 1 s; "
                + (synchronised
                    ? "every still-waiting Create retried in the same second (each second's POSTs = the previous second's minus those created), so each wave won only the bucket's "
                        + $"{RatePerSecond} tokens and the rest were refused again; "
                    : "retries were spread over time; ")
                + (failures.Count > 0
                    ? $"{Resources} Creates need {Math.Ceiling(Resources / RatePerSecond)} such seconds, but the API client gave up after {waves} attempts, so {failures.Count} Creates failed with 429 and the run ended early (which is why the wall time is short)"
                    : $"{limited} of {posts.Count} POSTs were refused"));
        }

        return new Figure(Name, Title,
            $"{Format.Seconds(wall)} wall, {duplicates} duplicates, {failures.Count} failures",
            $"{Format.Seconds(ideal)} ideal ({Resources} requests at {RatePerSecond}/s)",
            ratio, Target, ratio <= TargetRatio && duplicates == 0 && failures.Count == 0 && orphans == 0, notes);
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
