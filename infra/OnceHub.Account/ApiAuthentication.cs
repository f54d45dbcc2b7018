namespace OnceHub.Account;

/// <summary>
/// How a client authenticates to OnceHub's API v2, in one place for the API client, the emulator (which
/// checks keys the same way), the provider and the CLI.
/// </summary>
public static class ApiAuthentication
{
    /// <summary>The request header that carries the API key (OnceHub's error-handling guide names it).</summary>
    public const string HeaderName = "API-Key";

    /// <summary>The environment variable the provider, the CLI and the emulator read an API key from.</summary>
    public const string KeyVariable = "ONCEHUB_API_KEY";

    /// <summary>The message of OnceHub's 401 <c>authentication_error</c>, as its API reference shows it.</summary>
    public const string InvalidKeyMessage = "Invalid API key.";
}
