using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using OnceHub.Benchmarks.Harness;
using OnceHub.Contracts.Payloads;
using OnceHub.Webhooks;
using Perfolizer.Horology;

namespace OnceHub.Benchmarks.Figures;

/// <summary>
/// Signature verification with BenchmarkDotNet (in-process, short job, memory diagnoser): the library's
/// <see cref="SignatureVerifier.Verify(string?, ReadOnlySpan{byte})"/> of a valid header against raw
/// <see cref="HMACSHA256.HashData(ReadOnlySpan{byte}, ReadOnlySpan{byte}, Span{byte})"/> over the same
/// signed bytes (<c>t.body</c>), the least any verifier must do.
/// </summary>
public static class Verify
{
    public const string Name = "verify";
    private const string Title = "Signature verification (ns/op, bytes/op)";
    private const string Target = "≤ 1.3× raw HMAC";
    private const double TargetRatio = 1.3;

    public static Task<Figure> RunAsync()
    {
        Progress.Line($"{Name}: BenchmarkDotNet, in-process, 3 warm-up + 10 measured iterations of 200 ms per method");
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(10)
            .WithIterationTime(TimeInterval.FromMilliseconds(200));
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(new StderrLogger())
            .WithArtifactsPath(Path.Combine(Repo.BenchFolder, "benchmarkdotnet"))
            .WithOptions(ConfigOptions.DisableLogFile);
        var summary = BenchmarkRunner.Run<VerifyBenchmarks>(config);
        if (summary.HasCriticalValidationErrors)
        {
            var first = summary.ValidationErrors.First(e => e.IsCritical).Message.Split('\n')[0].Trim();
            throw new BenchmarkException($"BenchmarkDotNet refused to run (build with -c Release): {first}");
        }

        var reports = summary.Reports.ToDictionary(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name);
        if (!reports.TryGetValue(nameof(VerifyBenchmarks.Verify), out var verify) || verify.ResultStatistics is null
            || !reports.TryGetValue(nameof(VerifyBenchmarks.RawHmac), out var raw) || raw.ResultStatistics is null)
        {
            throw new BenchmarkException("BenchmarkDotNet produced no results (see its log on stderr)");
        }

        var verifyNs = verify.ResultStatistics.Median;
        var rawNs = raw.ResultStatistics.Median;
        var verifyBytes = verify.GcStats.GetBytesAllocatedPerOperation(verify.BenchmarkCase) ?? -1;
        var rawBytes = raw.GcStats.GetBytesAllocatedPerOperation(raw.BenchmarkCase) ?? -1;
        var ratio = verifyNs / rawNs;
        return Task.FromResult(new Figure(Name, Title,
            $"{Format.Number(verifyNs)} ns, {verifyBytes} B allocated per verify",
            $"{Format.Number(rawNs)} ns, {rawBytes} B per HMACSHA256.HashData over the same {VerifyBenchmarks.SignedLength} bytes",
            ratio, Target, ratio <= TargetRatio,
            [
                $"medians; verify error ±{Format.Number(verify.ResultStatistics.StandardError, "0.0")} ns, raw ±{Format.Number(raw.ResultStatistics.StandardError, "0.0")} ns (standard error)",
                $"verify = parse header + hex decode + tolerance check + copy t.body + HMAC + constant-time compare; overhead over raw HMAC {Format.Number(verifyNs - rawNs)} ns",
            ]));
    }

    /// <summary>BenchmarkDotNet's log to stderr, keeping stdout for the figures.</summary>
    private sealed class StderrLogger : ILogger
    {
        public string Id => nameof(StderrLogger);

        public int Priority => 0;

        public void Write(LogKind logKind, string text) => Console.Error.Write(text);

        public void WriteLine() => Console.Error.WriteLine();

        public void WriteLine(LogKind logKind, string text) => Console.Error.WriteLine(text);

        public void Flush() => Console.Error.Flush();
    }
}

/// <summary>The two measured methods; public and unsealed as BenchmarkDotNet requires.</summary>
[MemoryDiagnoser]
public class VerifyBenchmarks
{
    private byte[] _key = [];
    private byte[] _body = [];
    private byte[] _signed = [];
    private string _header = "";
    private SignatureVerifier _verifier = null!;
    private readonly byte[] _mac = new byte[HMACSHA256.HashSizeInBytes];

    /// <summary>Length of <c>t.body</c> for the booking.scheduled sample with a 10-digit timestamp.</summary>
    public static int SignedLength => 11 + ContractResources.ReadSample("booking.scheduled").Length;

    [GlobalSetup]
    public void Setup()
    {
        var secret = RandomNumberGenerator.GetHexString(32, lowercase: true);
        _key = Encoding.UTF8.GetBytes(secret);
        _body = ContractResources.ReadSample("booking.scheduled");
        var t = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _header = new WebhookSigner(secret).CreateHeader(_body, t);
        _signed = [.. Encoding.ASCII.GetBytes(t.ToString(CultureInfo.InvariantCulture) + "."), .. _body];
        _verifier = new SignatureVerifier(secret);

        // Measure the accepting path only: a refusal would skip the HMAC and flatter the figure.
        var check = _verifier.Verify(_header, _body);
        if (!check.IsValid)
        {
            throw new InvalidOperationException("benchmark setup: the verifier refused a fresh signature: " + check.Reason);
        }
    }

    [Benchmark(Baseline = true)]
    public int RawHmac() => HMACSHA256.HashData(_key, _signed, _mac);

    [Benchmark]
    public bool Verify() => _verifier.Verify(_header, _body).IsValid;
}
