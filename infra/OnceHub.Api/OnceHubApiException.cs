using OnceHub.Account;

namespace OnceHub.Api;

/// <summary>OnceHub answered with an error, or a request could not be completed.</summary>
public sealed class OnceHubApiException : Exception
{
    /// <param name="error">What OnceHub said, or what went wrong without an answer.</param>
    /// <param name="inner">The transport failure behind it, if any.</param>
    /// <param name="requestId">The answer's <c>Request-Id</c>, which OnceHub support asks for; null without an answer.</param>
    public OnceHubApiException(ApiError error, Exception? inner = null, string? requestId = null)
        : base(requestId is null ? error.Message : $"{error.Message} (Request-Id: {requestId})", inner)
    {
        Error = error;
        RequestId = requestId;
    }

    /// <summary>The error as OnceHub worded it; <see cref="Exception.Message"/> adds the <c>Request-Id</c>.</summary>
    public ApiError Error { get; }

    /// <summary>The <c>Request-Id</c> header of the answer that carried the error, when there was one.</summary>
    public string? RequestId { get; }

    /// <summary>HTTP status; 0 when no response was received (timeout, connection failure).</summary>
    public int StatusCode => Error.Status;

    public string Type => Error.Type;

    public string? Param => Error.Param;
}
