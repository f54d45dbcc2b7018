using OnceHub.Account;

namespace OnceHub.Api;

/// <summary>Where and how to reach OnceHub.</summary>
public sealed record OnceHubClientOptions
{
    public const string DefaultBaseUrl = "https://api.oncehub.com/v2";

    /// <summary>An http(s) base URL (OnceHub or the emulator) or a <c>file:</c> URI of an embedded local account folder.</summary>
    public Uri BaseUrl { get; init; } = new(DefaultBaseUrl);

    /// <summary>Sent as the <c>API-Key</c> header. Never printed.</summary>
    public required string ApiKey { get; init; }

    /// <summary>The embedded local account only: let <c>http://127.0.0.1…</c> receiver URLs through.</summary>
    public bool AllowInsecureUrls { get; init; }

    /// <summary>Timeout of one HTTP attempt.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts at most for a retried call (GET, DELETE), the first included.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>Bound on the whole of one call, retries and waits included.</summary>
    public TimeSpan TotalTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>First backoff delay between retries; it doubles each time, with jitter.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Cap on one backoff delay (a server's <c>Retry-After</c> is honoured as given).</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Client-side pacing: at most this many requests per second, shared by every client in this
    /// process for the same base URL and key (queued in arrival order), so concurrent calls do not
    /// spend the API's budget on 429s. Null turns pacing off. Default: OnceHub's documented per-account
    /// limit, 5/s. A 429 still pauses every caller for its <c>Retry-After</c> (or a growing delay).
    /// </summary>
    public double? RequestsPerSecond { get; init; } = ApiLimits.RequestsPerSecondPerAccount;

    /// <summary>
    /// Client-side budget of requests per <see cref="RequestWindow"/>, shared like
    /// <see cref="RequestsPerSecond"/>; null turns it off. Default: OnceHub's documented per-address
    /// limit, 200 per 5 minutes.
    /// </summary>
    public int? RequestsPerWindow { get; init; } = ApiLimits.RequestsPerAddress;

    public TimeSpan RequestWindow { get; init; } = ApiLimits.AddressWindow;

    /// <summary>
    /// Clock of the waits between retries (backoff and <c>Retry-After</c>, HTTP dates included) and of
    /// the pacer's pause after a 429. Timeouts and the pacer's rate always run on real time. Tests substitute a clock that records the waits.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public override string ToString() =>
        $"OnceHubClientOptions {{ BaseUrl = {BaseUrl}, ApiKey = ***, AllowInsecureUrls = {AllowInsecureUrls}, RequestsPerSecond = {RequestsPerSecond?.ToString() ?? "(unpaced)"} }}";
}
