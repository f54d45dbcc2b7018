using OnceHub.Account;

namespace OnceHub.Api;

/// <summary>OnceHub answered with an error, or a request could not be completed.</summary>
public sealed class OnceHubApiException : Exception
{
    /// <param name="error">What OnceHub said, or what went wrong without an answer.</param>
    /// <param name="inner">The transport failure behind it, if any.</param>
    /// <param name="requestId">The answer's <c>Request-Id</c>, which OnceHub support asks for; null without an answer.</param>
    public OnceHubApiException(ApiError error, Exception? inner = null, string? requestId = null)
        : base(WithRequestId(error.Message, requestId), inner)
    {
        Error = error;
        RequestId = requestId;
    }

    /// <summary>The error as OnceHub worded it; <see cref="Exception.Message"/> adds the <c>Request-Id</c>.</summary>
    public ApiError Error { get; }

    /// <summary>The <c>Request-Id</c> header of the answer that carried the error, when there was one.</summary>
    public string? RequestId { get; }

    /// <summary>
    /// <paramref name="text"/> followed by the <c>Request-Id</c>, the one way every surface shows it (the
    /// exception's message, the provider's failures), so support sees the same text wherever a user copies it from.
    /// </summary>
    public static string WithRequestId(string text, string? requestId) =>
        requestId is null ? text : $"{text} (Request-Id: {requestId})";

    /// <summary>HTTP status; 0 when no response was received (timeout, connection failure).</summary>
    public int StatusCode => Error.Status;

    public string Type => Error.Type;

    public string? Param => Error.Param;
}
