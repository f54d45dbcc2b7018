using OnceHub.Account;

namespace OnceHub.Api;

/// <summary>Makes the <see cref="IWebhookApi"/> an options' base URL asks for.</summary>
public static class OnceHubClient
{
    /// <summary>
    /// <c>https://</c> (or <c>http://</c> on a loopback host, e.g. the emulator) talks to the API;
    /// an absolute <c>file:</c> URI opens the embedded local account folder directly, no server.
    /// </summary>
    /// <param name="options">Where and how; validated here.</param>
    /// <param name="log">Receives one line per retry, adoption or notable event; never a key or a secret.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message names the option and the rule.</exception>
    public static IWebhookApi Create(OnceHubClientOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        if (options.BaseUrl.IsFile)
        {
            var store = new FileAccountStore(
                options.BaseUrl.LocalPath, new AccountStoreOptions { AllowInsecureUrls = options.AllowInsecureUrls });
            return new LocalAccountWebhookApi(store);
        }

        return new HttpWebhookApi(options, log);
    }

    private static void Validate(OnceHubClientOptions options)
    {
        var url = options.BaseUrl;
        if (url is null || !url.IsAbsoluteUri)
        {
            throw Invalid(nameof(options.BaseUrl), "must be an absolute https:// URL or a file: URI of a local account folder");
        }

        if (url.IsFile)
        {
            return;
        }

        if (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)
        {
            throw Invalid(nameof(options.BaseUrl), $"scheme '{url.Scheme}' is not supported: use https, http (loopback only) or file");
        }

        // The key travels in a header: plain http only where it cannot leave the machine.
        if (url.Scheme == Uri.UriSchemeHttp && !url.IsLoopback)
        {
            throw Invalid(nameof(options.BaseUrl), "http is allowed only for a loopback host (the emulator); use https");
        }

        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            throw Invalid(nameof(options.ApiKey), "must be non-empty");
        }

        if (options.ApiKey.Any(char.IsControl))
        {
            throw Invalid(nameof(options.ApiKey), "must not contain control characters");
        }

        if (options.MaxAttempts < 1)
        {
            throw Invalid(nameof(options.MaxAttempts), "must be at least 1");
        }

        RequireTimeout(options.AttemptTimeout, nameof(options.AttemptTimeout));
        RequireTimeout(options.TotalTimeout, nameof(options.TotalTimeout));
        if (options.RetryBaseDelay < TimeSpan.Zero || options.MaxRetryDelay < options.RetryBaseDelay)
        {
            throw Invalid(nameof(options.RetryBaseDelay), "must be non-negative and at most MaxRetryDelay");
        }

        if (options.RequestsPerSecond is { } rate && (!double.IsFinite(rate) || rate < 0.01 || rate > 10_000))
        {
            throw Invalid(nameof(options.RequestsPerSecond), "must be between 0.01 and 10000, or null for no pacing");
        }

        if (options.RequestsPerWindow is < 1)
        {
            throw Invalid(nameof(options.RequestsPerWindow), "must be at least 1, or null for no budget");
        }

        if (options.RequestsPerWindow is not null && (options.RequestWindow < TimeSpan.FromSeconds(1) || options.RequestWindow > TimeSpan.FromDays(1)))
        {
            throw Invalid(nameof(options.RequestWindow), "must be between 1 s and 1 day");
        }

        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options.TimeProvider));
    }

    private static void RequireTimeout(TimeSpan value, string name)
    {
        // Polly's timeout strategy accepts 10 ms .. 24 h.
        if (value < TimeSpan.FromMilliseconds(10) || value > TimeSpan.FromHours(24))
        {
            throw Invalid(name, "must be between 10 ms and 24 h");
        }
    }

    private static ArgumentException Invalid(string option, string rule) =>
        new($"OnceHubClientOptions.{option} {rule}", option);
}
