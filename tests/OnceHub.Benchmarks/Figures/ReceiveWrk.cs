using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Receiver;

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

    public static async Task<Figure> RunAsync()
    {
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var folder = Path.Combine(Repo.BenchFolder, "receive-wrk");
        var load = await FreshIdWrk.PrepareAsync(folder, secret);

        Progress.Line($"{Name}: {FreshIdWrk.WarmUpSeconds} s warm-up and {FreshIdWrk.Seconds} s each under wrk -t2 -c{FreshIdWrk.Connections}: reference receiver (SQLite file), hand-written endpoint, bare Kestrel");
        var database = Path.Combine(folder, $"receiver-{Environment.ProcessId}.db");
        var handDatabase = Path.Combine(folder, $"hand-{Environment.ProcessId}.db");
        WrkResult library, hand, bare;
        await using (var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret], Store = ReceiverStore.Sqlite(database) }))
        {
            library = await load.LoadAsync(receiver.Url);
        }
        await using (var host = await StartHandWrittenAsync(secret, handDatabase))
        {
            hand = await load.LoadAsync(new Uri(host.Url, ReferenceReceiver.Path));
        }
        await using (var host = await MinimalHost.BareAsync(ReferenceReceiver.Path))
        {
            bare = await load.LoadAsync(new Uri(host.Url, ReferenceReceiver.Path));
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

    /// <summary>The hand-written endpoint on one SQLite connection in WAL mode: one insert per request under a lock.</summary>
    private static Task<MinimalHost> StartHandWrittenAsync(string secret, string database)
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
        var gate = new Lock();
        return HandWrittenEndpoint.StartAsync(ReferenceReceiver.Path, secret, eventId =>
        {
            lock (gate)
            {
                parameter.Value = eventId;
                insert.ExecuteNonQuery();
            }
            return ValueTask.CompletedTask;
        }, connection);
    }
}
