using Grpc.Core;
using OnceHub.Api;

namespace OnceHub.Provider.Protocol;

/// <summary>Turns failures into gRPC statuses whose detail is one sentence a user can act on.</summary>
public static class RpcErrors
{
    /// <summary>An error from OnceHub, prefixed with what the provider was doing (e.g. "creating webhook 'x'").</summary>
    public static RpcException FromApi(OnceHubApiException e, string doing, Redactor redactor)
    {
        var code = e.StatusCode switch
        {
            0 => StatusCode.Unavailable,
            400 or 422 => StatusCode.InvalidArgument,
            401 => StatusCode.Unauthenticated,
            403 => StatusCode.PermissionDenied,
            404 => StatusCode.NotFound,
            409 => StatusCode.AlreadyExists,
            429 => StatusCode.ResourceExhausted,
            >= 500 => StatusCode.Unavailable,
            _ => StatusCode.Unknown,
        };

        var what = e.StatusCode switch
        {
            0 => $"OnceHub could not be reached while {doing}",
            401 or 403 => $"OnceHub refused the API key while {doing} (check oncehub:apiKey)",
            _ => $"OnceHub refused {doing} ({e.StatusCode} {e.Type})",
        };

        // The Request-Id is what OnceHub support asks for about a failed call.
        var said = Sentence(e.Error.Message).TrimEnd('.');
        return Create(code, Sentence($"{what}: {OnceHubApiException.WithRequestId(said, e.RequestId)}"), redactor);
    }

    public static RpcException Create(StatusCode code, string message, Redactor redactor) =>
        new(new Status(code, redactor.Redact(message)));

    /// <summary>One sentence: trimmed, with exactly one closing full stop.</summary>
    public static string Sentence(string text)
    {
        text = text.Trim().ReplaceLineEndings(" ");
        return text.Length == 0 ? "no detail given." : text.TrimEnd('.') + ".";
    }
}
