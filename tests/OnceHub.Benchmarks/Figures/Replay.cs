using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.Contracts.Suite;
using OnceHub.Webhooks;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// Replay load: signed deliveries per second from the contract library's delivery engine to the
/// reference receiver at concurrency 32, against wrk posting the same body with the same header to the
/// same receiver at 32 connections.
/// </summary>
/// <remarks>
/// The receiver de-duplicates by event id, and wrk's one body is delivered once before wrk starts, so each
/// wrk request is acknowledged as a duplicate (signature verified, body parsed, the claim finding the id
/// settled). The compared engine run posts one body already processed too, signed afresh per delivery as
/// OnceHub does, so the receiver does the same work in both; a second engine run with a fresh event id per delivery (every one
/// processed and stored) is reported beside it as the realistic rate.
/// </remarks>
public static class Replay
{
    public const string Name = "replay";
    private const string Title = "Replay load (signed deliveries/s, concurrency 32)";
    private const string Target = "≥ 0.5× wrk";
    private const int Concurrency = 32;
    private const int Seconds = 10;
    private const int WarmUpSeconds = 5;
    private const double TargetRatio = 0.5;
    private const string SampleEvent = "booking.scheduled";

    public static async Task<Figure> RunAsync()
    {
        var wrk = await Wrk.EnsureAsync();
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret] });
        using var engine = new DeliveryEngine();
        var signer = new WebhookSigner(secret);
        var template = new BodyTemplate(ContractResources.ReadSample(SampleEvent));

        Progress.Line($"{Name}: {WarmUpSeconds} s warm-up, then {Seconds} s each: engine (one body), engine (fresh ids), wrk");
        var sameBody = template.WithId(ContractSuite.NewEventId());

        // Both paths, long enough for tiered compilation to settle on the client and the receiver.
        var turn = 0;
        await DeliveryLoad.RunAsync(Concurrency, TimeSpan.FromSeconds(WarmUpSeconds), () => engine.SendAsync(
            receiver.Url, Interlocked.Increment(ref turn) % 2 == 0 ? sameBody : template.WithId(ContractSuite.NewEventId()), signer));

        var before = (receiver.ProcessedCount, receiver.DuplicateCount);
        var same = await DeliveryLoad.RunAsync(Concurrency, TimeSpan.FromSeconds(Seconds), () => engine.SendAsync(receiver.Url, sameBody, signer));
        var sameWork = (receiver.ProcessedCount - before.ProcessedCount, receiver.DuplicateCount - before.DuplicateCount);

        before = (receiver.ProcessedCount, receiver.DuplicateCount);
        var fresh = await DeliveryLoad.RunAsync(Concurrency, TimeSpan.FromSeconds(Seconds), () => engine.SendAsync(receiver.Url, template.WithId(ContractSuite.NewEventId()), signer));
        var freshWork = (receiver.ProcessedCount - before.ProcessedCount, receiver.DuplicateCount - before.DuplicateCount);

        // wrk posts exactly these bytes with a header signed now: valid for the receiver's 300 s tolerance.
        var folder = Path.Combine(Repo.BenchFolder, "replay");
        Directory.CreateDirectory(folder);
        var wrkBody = template.WithId(ContractSuite.NewEventId());
        await File.WriteAllBytesAsync(Path.Combine(folder, "body.json"), wrkBody);
        var script = Path.Combine(folder, "post.lua");
        await File.WriteAllTextAsync(script, LuaScript(signer.CreateHeader(wrkBody)));
        // Delivered once first, as the engine's one body was in the warm-up: every wrk request is then a replay of
        // a settled event. Otherwise wrk's first 32 requests race for a new id, and those that arrive while the
        // first is being handled are rightly answered 409.
        if (!(await engine.SendAsync(receiver.Url, wrkBody, signer)).IsAccepted)
        {
            throw new BenchmarkException("the reference receiver did not accept wrk's body on its first delivery");
        }
        before = (receiver.ProcessedCount, receiver.DuplicateCount);
        var reference = await Wrk.RunAsync(wrk, script, receiver.Url, Concurrency, Seconds);
        var wrkWork = (receiver.ProcessedCount - before.ProcessedCount, receiver.DuplicateCount - before.DuplicateCount);

        var ratio = same.PerSecond / reference.RequestsPerSecond;
        var failures = same.Failed + fresh.Failed + reference.Non2xx;
        return new Figure(Name, Title,
            $"{Format.Number(same.PerSecond)}/s delivery engine, one body signed per delivery ({Format.Number(fresh.PerSecond)}/s with a fresh event id each)",
            $"{Format.Number(reference.RequestsPerSecond)}/s wrk -t2 -c{Concurrency}, same body and header",
            ratio, Target, ratio >= TargetRatio && failures == 0,
            [
                $"same receiver (reference receiver, in this process, in-memory SQLite), {SampleEvent} sample of {sameBody.Length} bytes, {Seconds} s each",
                $"receiver work: engine one body {sameWork.Item1} processed + {sameWork.Item2} duplicates; wrk {wrkWork.Item1} + {wrkWork.Item2}; engine fresh ids {freshWork.Item1} + {freshWork.Item2}",
                $"fresh ids vs wrk: {Format.Number(fresh.PerSecond / reference.RequestsPerSecond, "0.00")}× (each delivery a new event stored in SQLite)",
                $"engine p50/p99 latency {Format.Ms(same.P50Ms)}/{Format.Ms(same.P99Ms)} (one body), {Format.Ms(fresh.P50Ms)}/{Format.Ms(fresh.P99Ms)} (fresh ids)",
                $"non-2xx: engine {same.Failed + fresh.Failed}, wrk {reference.Non2xx}; wrk socket errors: {reference.SocketErrors}",
            ]);
    }


    private static string LuaScript(string signature) =>
        $$"""
        -- Posts body.json (read as raw bytes, so wrk sends exactly what was signed) with the OnceHub headers.
        local file = assert(io.open("body.json", "rb"))
        wrk.method = "POST"
        wrk.body = file:read("*a")
        file:close()
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["{{WebhookSigner.HeaderName}}"] = "{{signature}}"

        """;

    /// <summary>The sample's bytes with its event id swappable, without re-serialising the JSON.</summary>
    private sealed class BodyTemplate
    {
        private readonly byte[] _prefix;
        private readonly byte[] _suffix;

        public BodyTemplate(byte[] sample)
        {
            using var document = JsonDocument.Parse(sample);
            var id = Encoding.UTF8.GetBytes("\"" + document.RootElement.GetProperty("id").GetString() + "\"");
            var at = sample.AsSpan().IndexOf(id);
            if (at < 0)
            {
                throw new BenchmarkException($"the {SampleEvent} sample's id is not written as a plain JSON string");
            }

            _prefix = sample[..(at + 1)];
            _suffix = sample[(at + id.Length - 1)..];
        }

        public byte[] WithId(string id)
        {
            var idBytes = Encoding.UTF8.GetBytes(id);
            var body = new byte[_prefix.Length + idBytes.Length + _suffix.Length];
            _prefix.CopyTo(body, 0);
            idBytes.CopyTo(body, _prefix.Length);
            _suffix.CopyTo(body, _prefix.Length + idBytes.Length);
            return body;
        }
    }
}
