using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Receiver;
using OnceHub.Webhooks;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// The reference receiver on a SQLite file store, driven by wrk (a client outside the .NET process) with
/// requests signed beforehand, each a fresh event id; beside it, in the same run, what a team would write
/// instead (a minimal endpoint that checks the HMAC and inserts the id into a SQLite file in WAL mode, one
/// request at a time) and a bare Kestrel endpoint that reads the body.
/// </summary>
public static class ReceiveWrk
{
    public const string Name = "receive-wrk";
    private const string Title = "Reference receiver, SQLite file store, fresh ids under wrk (requests/s, 32 connections)";
    private const string Target = "≥ 1.0× hand-written, p99 ≤ 20 ms, 100% 2xx";
    private const int Connections = 32;
    private const int Seconds = 10;
    private const int WarmUpSeconds = 5;
    // More than the fastest endpoint answers in one run, so every request is a new id.
    private const int RequestsPerRun = 400_000;

    public static async Task<Figure> RunAsync()
    {
        var wrk = await Wrk.EnsureAsync();
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var folder = Path.Combine(Repo.BenchFolder, "receive-wrk");
        Directory.CreateDirectory(folder);
        var sample = Encoding.UTF8.GetString(ContractResources.ReadSample("booking.scheduled"));
        var id = System.Text.Json.JsonDocument.Parse(sample).RootElement.GetProperty("id").GetString()!;
        var at = sample.IndexOf("\"" + id + "\"", StringComparison.Ordinal) + 1;
        var (prefix, suffix) = (sample[..at], sample[(at + id.Length)..]);
        await File.WriteAllTextAsync(Path.Combine(folder, "prefix.json"), prefix);
        await File.WriteAllTextAsync(Path.Combine(folder, "suffix.json"), suffix);
        await File.WriteAllTextAsync(Path.Combine(folder, "fresh.lua"), LuaScript);
        var run = 0;

        // Signed now, each with its own id never sent before: valid for the 300 s tolerance through the run.
        async Task WriteRequestsAsync()
        {
            var signer = new WebhookSigner(secret);
            var lines = new StringBuilder();
            var round = Interlocked.Increment(ref run);
            for (var i = 0; i < RequestsPerRun; i++)
            {
                var eventId = string.Create(CultureInfo.InvariantCulture, $"EVNT-W{round}X{i:D9}");
                lines.Append(eventId).Append(' ').Append(signer.CreateHeader(Encoding.UTF8.GetBytes(prefix + eventId + suffix))).Append('\n');
            }
            await File.WriteAllTextAsync(Path.Combine(folder, "requests.txt"), lines.ToString());
        }

        async Task<WrkResult> LoadAsync(Uri url)
        {
            await WriteRequestsAsync();
            await Wrk.RunAsync(wrk, Path.Combine(folder, "fresh.lua"), url, Connections, WarmUpSeconds);
            await WriteRequestsAsync();
            return await Wrk.RunAsync(wrk, Path.Combine(folder, "fresh.lua"), url, Connections, Seconds);
        }

        Progress.Line($"{Name}: {WarmUpSeconds} s warm-up and {Seconds} s each under wrk -t2 -c{Connections}: reference receiver (SQLite file), hand-written endpoint, bare Kestrel");
        var database = Path.Combine(folder, $"receiver-{Environment.ProcessId}.db");
        var handDatabase = Path.Combine(folder, $"hand-{Environment.ProcessId}.db");
        WrkResult library, hand, bare;
        await using (var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret], Store = ReceiverStore.Sqlite(database) }))
        {
            library = await LoadAsync(receiver.Url);
        }
        await using (var host = await HandWritten.StartAsync(secret, handDatabase))
        {
            hand = await LoadAsync(new Uri(host.Url, ReferenceReceiver.Path));
        }
        await using (var host = await StartAsync(app => app.MapPost(ReferenceReceiver.Path, async (HttpContext http) =>
        {
            await http.Request.Body.CopyToAsync(Stream.Null);
            return Results.Ok();
        })))
        {
            bare = await LoadAsync(new Uri(host.Url, ReferenceReceiver.Path));
        }
        foreach (var file in Directory.EnumerateFiles(folder, $"*-{Environment.ProcessId}.db*"))
        {
            File.Delete(file);
        }

        var ratio = library.RequestsPerSecond / hand.RequestsPerSecond;
        var failures = library.Non2xx + hand.Non2xx;
        return new Figure(Name, Title,
            $"{Format.Number(library.RequestsPerSecond)}/s, p99 {Format.Ms(library.P99Ms)}, reference receiver with a SQLite file store",
            $"{Format.Number(hand.RequestsPerSecond)}/s, p99 {Format.Ms(hand.P99Ms)}, hand-written HMAC check + INSERT … ON CONFLICT DO NOTHING (SQLite WAL, one at a time)",
            ratio, Target, ratio >= 1.0 && library.P99Ms <= 20 && failures == 0,
            [
                $"bare Kestrel endpoint reading the body: {Format.Number(bare.RequestsPerSecond)}/s, p99 {Format.Ms(bare.P99Ms)}; reference receiver {Format.Number(library.RequestsPerSecond / bare.RequestsPerSecond, "0.00")}× of it",
                $"servers in this process, wrk outside it; every request a new event id, signed before the run; non-2xx: receiver {library.Non2xx}, hand-written {hand.Non2xx}; socket errors: {library.SocketErrors}",
            ]);
    }

    // wrk's two threads take alternate lines of requests.txt ("id signature"), so no id is sent twice.
    private const string LuaScript = """
        local counter = 0
        function setup(thread)
          thread:set("offset", counter)
          counter = counter + 1
        end

        function init(args)
          local function read(name)
            local file = assert(io.open(name, "rb"))
            local text = file:read("*a")
            file:close()
            return text
          end
          prefix = read("prefix.json")
          suffix = read("suffix.json")
          ids = {}
          signatures = {}
          local n = 0
          for line in io.lines("requests.txt") do
            if n % 2 == offset then
              local space = line:find(" ", 1, true)
              ids[#ids + 1] = line:sub(1, space - 1)
              signatures[#signatures + 1] = line:sub(space + 1)
            end
            n = n + 1
          end
          next_request = 0
        end

        function request()
          next_request = next_request % #ids + 1
          local headers = { ["Content-Type"] = "application/json", ["Oncehub-Signature"] = signatures[next_request] }
          return wrk.format("POST", nil, headers, prefix .. ids[next_request] .. suffix)
        end
        """;

    private sealed class Host(WebApplication app, Uri url, IDisposable? owned = null) : IAsyncDisposable
    {
        public Uri Url { get; } = url;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
            owned?.Dispose();
        }
    }

    private static async Task<Host> StartAsync(Action<WebApplication> map, IDisposable? owned = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Host(app, new Uri(address), owned);
    }

    /// <summary>What a team would write without the library: the HMAC, then one insert per request under a lock.</summary>
    private static class HandWritten
    {
        public static async Task<Host> StartAsync(string secret, string database)
        {
            var connection = new SqliteConnection($"Data Source={database};Pooling=False");
            connection.Open();
            using (var setup = connection.CreateCommand())
            {
                setup.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY)";
                setup.ExecuteNonQuery();
            }
            var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO seen (id) VALUES ($id) ON CONFLICT DO NOTHING";
            var parameter = insert.Parameters.Add("$id", SqliteType.Text);
            insert.Prepare();
            var key = Encoding.UTF8.GetBytes(secret);
            var gate = new Lock();
            return await ReceiveWrk.StartAsync(app => app.MapPost(ReferenceReceiver.Path, async (HttpContext http) =>
            {
                using var buffer = new MemoryStream();
                await http.Request.Body.CopyToAsync(buffer);
                var body = buffer.ToArray();
                var header = http.Request.Headers["Oncehub-Signature"].ToString();
                var parts = header.Split(',');
                if (parts.Length != 2 || !parts[0].StartsWith("t=", StringComparison.Ordinal) || !parts[1].StartsWith("s=", StringComparison.Ordinal))
                {
                    return Results.StatusCode(401);
                }
                byte[] message = [.. Encoding.UTF8.GetBytes(parts[0][2..] + "."), .. body];
                var expected = HMACSHA256.HashData(key, message);
                if (!CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(parts[1][2..])))
                {
                    return Results.StatusCode(401);
                }
                var eventId = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString();
                lock (gate)
                {
                    parameter.Value = eventId;
                    insert.ExecuteNonQuery();
                }
                return Results.Ok();
            }), connection);
        }
    }
}
