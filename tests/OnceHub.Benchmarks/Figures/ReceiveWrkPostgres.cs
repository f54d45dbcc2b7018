using System.Security.Cryptography;
using Npgsql;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Receiver;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// <see cref="ReceiveWrk"/> on PostgreSQL: the reference receiver with its PostgreSQL store (no handler
/// transaction), then in the inbox mode (an effect row written in the transaction that settles each event),
/// beside what a team would write instead (the HMAC check, then one <c>INSERT … ON CONFLICT DO NOTHING</c> per
/// request through Npgsql's pool, committed on its own) and a bare Kestrel endpoint; each endpoint on an empty
/// database of its own on the same server.
/// </summary>
public static class ReceiveWrkPostgres
{
    public const string Name = "receive-wrk-pg";
    private const string Title = "Reference receiver, PostgreSQL store, fresh ids under wrk (requests/s, 32 connections)";
    private const string Target = "≥ 0.8× hand-written, p99 ≤ 20 ms, 100% 2xx";

    public static async Task<Figure> RunAsync()
    {
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var load = await FreshIdWrk.PrepareAsync(Path.Combine(Repo.BenchFolder, Name), secret);
        await using var server = await BenchPostgres.StartAsync();

        Progress.Line($"{Name}: {FreshIdWrk.WarmUpSeconds} s warm-up and {FreshIdWrk.Seconds} s each under wrk -t2 -c{FreshIdWrk.Connections}: reference receiver (PostgreSQL), the same with --effects (inbox), hand-written endpoint, bare Kestrel");
        WrkResult library, inbox, hand, bare;
        await using (var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret], Store = ReceiverStore.Postgres(await server.CreateDatabaseAsync("receiver")) }))
        {
            library = await load.LoadAsync(receiver.Url);
        }
        await using (var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [secret], Store = ReceiverStore.Postgres(await server.CreateDatabaseAsync("inbox")), RecordEffects = true }))
        {
            inbox = await load.LoadAsync(receiver.Url);
        }
        await using (var host = await StartHandWrittenAsync(secret, await server.CreateDatabaseAsync("hand")))
        {
            hand = await load.LoadAsync(new Uri(host.Url, ReferenceReceiver.Path));
        }
        await using (var host = await MinimalHost.BareAsync(ReferenceReceiver.Path))
        {
            bare = await load.LoadAsync(new Uri(host.Url, ReferenceReceiver.Path));
        }

        var ratio = library.RequestsPerSecond / hand.RequestsPerSecond;
        var failures = library.Non2xx + hand.Non2xx;
        return new Figure(Name, Title,
            $"{Format.Number(library.RequestsPerSecond)}/s, p99 {Format.Ms(library.P99Ms)}, reference receiver with the PostgreSQL store",
            $"{Format.Number(hand.RequestsPerSecond)}/s, p99 {Format.Ms(hand.P99Ms)}, hand-written HMAC check + INSERT … ON CONFLICT DO NOTHING (Npgsql pool, one commit per request)",
            ratio, Target, ratio >= 0.8 && library.P99Ms <= 20 && failures == 0,
            [
                $"inbox mode (--effects: an effect row in each event's settle transaction): {Format.Number(inbox.RequestsPerSecond)}/s, p99 {Format.Ms(inbox.P99Ms)}, {Format.Number(inbox.RequestsPerSecond / hand.RequestsPerSecond, "0.00")}× hand-written, non-2xx {inbox.Non2xx}",
                $"bare Kestrel endpoint reading the body: {Format.Number(bare.RequestsPerSecond)}/s, p99 {Format.Ms(bare.P99Ms)}; reference receiver {Format.Number(library.RequestsPerSecond / bare.RequestsPerSecond, "0.00")}× of it",
                $"servers in this process, wrk outside it, PostgreSQL from {server.Origin}; non-2xx: receiver {library.Non2xx}, hand-written {hand.Non2xx}; socket errors: {library.SocketErrors}",
            ]);
    }

    /// <summary>The hand-written endpoint on PostgreSQL: each request runs its own insert on a pooled connection.</summary>
    private static async Task<MinimalHost> StartHandWrittenAsync(string secret, string connectionString)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        await using (var create = dataSource.CreateCommand("CREATE TABLE IF NOT EXISTS seen (id text PRIMARY KEY)"))
        {
            await create.ExecuteNonQueryAsync();
        }
        return await HandWrittenEndpoint.StartAsync(ReferenceReceiver.Path, secret, async eventId =>
        {
            await using var insert = dataSource.CreateCommand("INSERT INTO seen (id) VALUES ($1) ON CONFLICT DO NOTHING");
            insert.Parameters.Add(new NpgsqlParameter { Value = eventId });
            await insert.ExecuteNonQueryAsync();
        }, dataSource);
    }
}
