using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// The reference receiver on a SQLite file, as a process of its own, killed with SIGKILL five times under 32
/// concurrent senders of fresh ids and started again on the same file; then the file is read: every id that
/// was answered 2xx must be settled, none missing, none left claimed.
/// </summary>
public static class Crash
{
    public const string Name = "crash";
    private const string Title = "Acknowledged ids kept across kill -9 of the reference receiver (SQLite file store)";
    private const string Target = "0 missing, 0 left claimed";
    private const int Kills = 5;
    private const int Senders = 32;
    private static readonly TimeSpan Life = TimeSpan.FromSeconds(4);

    public static async Task<Figure> RunAsync()
    {
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        var folder = Path.Combine(Repo.BenchFolder, "crash");
        Directory.CreateDirectory(folder);
        var database = Path.Combine(folder, $"events-{Environment.ProcessId}.db");
        var sample = ContractResources.ReadSample("booking.scheduled");
        var signer = new WebhookSigner(secret);
        var acknowledged = new ConcurrentBag<string>();
        var sent = 0;
        using var http = new HttpClient();
        Progress.Line($"{Name}: {Kills} lives of {Life.TotalSeconds:0} s under {Senders} senders, each ended by SIGKILL");
        for (var life = 0; life < Kills; life++)
        {
            await using var receiver = await ReceiverProcess.StartWithSecretAsync(secret, "--port", "0", "--store", "sqlite:" + database);
            var url = receiver.Url;
            using var stop = new CancellationTokenSource();
            var senders = Enumerable.Range(0, Senders).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var body = ContractSuite.WithNewEventId(sample);
                    var id = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
                    Interlocked.Increment(ref sent);
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                        request.Headers.TryAddWithoutValidation(WebhookSigner.HeaderName, signer.CreateHeader(body));
                        using var response = await http.SendAsync(request, stop.Token);
                        if (response.IsSuccessStatusCode)
                        {
                            acknowledged.Add(id);
                        }
                    }
                    catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
                    {
                        // Killed under this delivery: no answer, nothing promised.
                    }
                }
            })).ToArray();
            await Task.Delay(Life);
            await receiver.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(senders);
        }

        // What a restart finds: the file after the last kill (opening it recovers the log as the receiver would).
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var connection = new SqliteConnection($"Data Source={database};Pooling=False"))
        {
            connection.Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT event_id, state FROM events";
            using var row = read.ExecuteReader();
            while (row.Read())
            {
                states[row.GetString(0)] = row.GetString(1);
            }
        }
        foreach (var file in Directory.EnumerateFiles(folder, $"events-{Environment.ProcessId}.db*"))
        {
            File.Delete(file);
        }
        var settled = acknowledged.Count(id => states.GetValueOrDefault(id) is "processed" or "ignored" or "quarantined");
        var missing = acknowledged.Count(id => !states.ContainsKey(id));
        var claimed = acknowledged.Count(id => states.GetValueOrDefault(id) is "in_flight" or "failed");
        return new Figure(Name, Title,
            $"{Format.Number(acknowledged.Count)} acknowledged: {Format.Number(settled)} settled, {missing} missing, {claimed} left claimed",
            $"{Format.Number(sent)} sent over {Kills} lives",
            null, Target, missing == 0 && claimed == 0 && settled == acknowledged.Count,
            [$"{Senders} senders, fresh ids, each life {Life.TotalSeconds:0} s then SIGKILL; ids read from the file after the last kill"]);
    }
}
