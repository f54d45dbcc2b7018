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
    /// Clock of the waits between retries (backoff and <c>Retry-After</c>, HTTP dates included).
    /// Timeouts always run on real time. Tests substitute a clock that records the waits.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public override string ToString() =>
        $"OnceHubClientOptions {{ BaseUrl = {BaseUrl}, ApiKey = ***, AllowInsecureUrls = {AllowInsecureUrls} }}";
}
