using OnceHub.Account;

namespace OnceHub.Emulator;

/// <summary>
/// Bounds the emulator puts on create requests on top of OnceHub's documented rules
/// (<see cref="WebhookRules"/>). OnceHub documents no length limits, so these are the emulator's own:
/// a server on a developer's machine must not store whatever size of name or URL it is sent. They
/// stay out of <see cref="WebhookRules"/>, which the provider's preview checks use, so that the
/// provider never refuses what OnceHub accepts.
/// </summary>
public static class EmulatorRules
{
    public const int MaxNameLength = 256;
    public const int MaxUrlLength = 2048;

    /// <summary>Bound on a request body: a create with every catalog event repeated fits many times over.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    /// <summary>The first bound the create's name or url breaks, or null.</summary>
    public static ApiError? CheckCreate(string? name, string? url) =>
        Check("name", name, MaxNameLength) ?? Check("url", url, MaxUrlLength);

    private static ApiError? Check(string field, string? value, int maxLength)
    {
        if (value is null)
        {
            return null; // missing fields are the documented rules' to report
        }

        if (value.Length > maxLength)
        {
            return ApiError.Invalid(field, $"{field} must be at most {maxLength} characters (it has {value.Length})");
        }

        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsControl(value[i]))
            {
                return ApiError.Invalid(field, $"{field} must not contain control characters (U+{(int)value[i]:X4} at index {i})");
            }
        }

        return null;
    }
}
