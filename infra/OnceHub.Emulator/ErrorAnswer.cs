using OnceHub.Account;

namespace OnceHub.Emulator;

/// <summary>OnceHub's error JSON, <c>{type, message, param}</c>, with the error's status.</summary>
internal static class ErrorAnswer
{
    public static Task Write(HttpContext ctx, ApiError error)
    {
        ctx.Response.StatusCode = error.Status;
        return ctx.Response.WriteAsJsonAsync(
            new ErrorJson { Type = error.Type, Message = error.Message, Param = error.Param },
            OnceHubJsonContext.Writer.ErrorJson);
    }
}
