namespace OnceHub.Account;

/// <summary>
/// OnceHub's documented API rate limits, in one place for the emulator (which enforces them) and the
/// API client (which paces itself under them). OnceHub documents the limits and the 429 body, but no
/// rate-limit headers and no algorithm, so how a window is counted is ours.
/// </summary>
public static class ApiLimits
{
    /// <summary>Requests per second per account.</summary>
    public const double RequestsPerSecondPerAccount = 5;

    /// <summary>Requests per <see cref="AddressWindow"/> per client address.</summary>
    public const int RequestsPerAddress = 200;

    /// <summary>The window of <see cref="RequestsPerAddress"/>.</summary>
    public static readonly TimeSpan AddressWindow = TimeSpan.FromMinutes(5);

    /// <summary>The message of OnceHub's 429 <c>rate_limit_error</c>.</summary>
    public const string RateLimitMessage = "Request rate limit exceeded";
}
