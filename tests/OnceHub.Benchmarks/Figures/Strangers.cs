using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// What strangers can make the reference receiver hold, as a process of its own: its resident memory while
/// 300 connections each send a well-formed, current (forged) signature and 1 MiB less one byte of a 1 MiB body
/// and hold, 10 s after they leave, and while 1,000 connections announce 1 MiB and send one byte.
/// </summary>
public static class Strangers
{
    public const string Name = "strangers";
    private const string Title = "Reference receiver's resident memory under strangers holding bodies (MB over its start)";
    private const string Target = "< 150 MB holding, ≤ 150 MB 10 s after";
    private const int Announced = 1024 * 1024;
    private const double LimitMb = 150;

    public static async Task<Figure> RunAsync()
    {
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        await using var receiver = await ReceiverProcess.StartWithSecretAsync(secret, "--port", "0", "--store", "memory");
        var url = receiver.Url;
        var pid = receiver.ProcessId;

        // Warm: a few real deliveries, so the start figure includes the code paths and pools they use.
        using (var http = new HttpClient())
        {
            var sample = ContractResources.ReadSample("booking.scheduled");
            var signer = new WebhookSigner(secret);
            for (var i = 0; i < 200; i++)
            {
                var body = ContractSuite.WithNewEventId(sample);
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                request.Headers.TryAddWithoutValidation(WebhookSigner.HeaderName, signer.CreateHeader(body));
                using var response = await http.SendAsync(request);
            }
        }
        await Task.Delay(TimeSpan.FromSeconds(2));
        var baseline = RssMb(pid);
        Progress.Line($"{Name}: receiver at {baseline:0} MB; 300 strangers sending {Announced - 1:N0} of {Announced:N0} bytes and holding");

        var (heldPeak, answered) = await HoldAsync(url, pid, 300, Announced - 1);
        await Task.Delay(TimeSpan.FromSeconds(10));
        var after = RssMb(pid);
        Progress.Line($"{Name}: 1,000 strangers announcing {Announced:N0} bytes and sending 1");
        var (announcedPeak, _) = await HoldAsync(url, pid, 1000, 1);

        var held = heldPeak - baseline;
        var left = after - baseline;
        var announced = announcedPeak - baseline;
        return new Figure(Name, Title,
            string.Create(CultureInfo.InvariantCulture, $"+{held:0} MB holding 300 × 1 MiB−1, +{left:0} MB 10 s after they left, +{announced:0} MB with 1,000 announcing 1 MiB"),
            string.Create(CultureInfo.InvariantCulture, $"{baseline:0} MB resident at start (after 200 deliveries)"),
            null, Target, held < LimitMb && left <= LimitMb && announced < LimitMb,
            [
                $"a separate process (dotnet OnceHub.Contracts.Receiver.dll --store memory), resident set from /proc; peaks sampled every 100 ms while the strangers hold",
                $"of the 300, {answered} were answered while holding (503 over the unverified-body budget, 401 for those whose body arrived whole)",
            ]);
    }

    // Opens `count` connections that each send a forged, current header and `sent` bytes of an announced
    // 1 MiB body, then hold; returns the peak resident memory seen over 5 s of holding and how many got an answer.
    private static async Task<(double PeakMb, int Answered)> HoldAsync(Uri url, int pid, int count, int sent)
    {
        var clients = new List<TcpClient>();
        var peak = 0.0;
        try
        {
            var payload = new byte[sent];
            var opened = Enumerable.Range(0, count).Select(async _ =>
            {
                var client = new TcpClient();
                lock (clients)
                {
                    clients.Add(client);
                }
                await client.ConnectAsync(IPAddress.Loopback, url.Port);
                var forged = $"t={DateTimeOffset.UtcNow.ToUnixTimeSeconds()},s={RandomNumberGenerator.GetHexString(64, lowercase: true)}";
                var headers = $"POST {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: application/json\r\nContent-Length: {Announced}\r\n"
                    + $"{WebhookSigner.HeaderName}: {forged}\r\n\r\n";
                var stream = client.GetStream();
                try
                {
                    using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                    await stream.WriteAsync(Encoding.ASCII.GetBytes(headers), limit.Token);
                    await stream.WriteAsync(payload, limit.Token);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    // Refused and closed by the receiver before all was sent: what a stranger would see too.
                }
            }).ToList();
            var sampling = Stopwatch.StartNew();
            var all = Task.WhenAll(opened);
            // Sample while sending, then for 5 s of holding.
            while (!all.IsCompleted && sampling.Elapsed < TimeSpan.FromSeconds(60))
            {
                peak = Math.Max(peak, RssMb(pid));
                await Task.Delay(100);
            }
            await all;
            for (var i = 0; i < 50; i++)
            {
                peak = Math.Max(peak, RssMb(pid));
                await Task.Delay(100);
            }
            return (peak, clients.Count(c => c.Available > 0));
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static double RssMb(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}
