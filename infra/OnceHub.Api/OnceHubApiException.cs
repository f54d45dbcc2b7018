using OnceHub.Account;

namespace OnceHub.Api;

/// <summary>OnceHub answered with an error, or a request could not be completed.</summary>
public sealed class OnceHubApiException : Exception
{
    public OnceHubApiException(ApiError error, Exception? inner = null)
        : base(error.Message, inner) => Error = error;

    public ApiError Error { get; }

    /// <summary>HTTP status; 0 when no response was received (timeout, connection failure).</summary>
    public int StatusCode => Error.Status;

    public string Type => Error.Type;

    public string? Param => Error.Param;
}
