using OnceHub.Account;

namespace OnceHub.Emulator;

/// <summary>
/// Bounds the emulator puts on a create's URL on top of OnceHub's documented rules
/// (<see cref="WebhookRules"/>): the emulator sends deliveries to it, so it must be one line of
/// reasonable length. Names are left to the documented rules, as the provider's preview checks leave
/// them (the body's size bounds them); these bounds stay out of <see cref="WebhookRules"/> so that
/// the provider never refuses what OnceHub accepts.
/// </summary>
public static class EmulatorRules
{
    public const int MaxUrlLength = 2048;

    /// <summary>Bound on a request body: a create with every catalog event repeated fits many times over.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    /// <summary>The bound the create's url breaks, or null.</summary>
    public static ApiError? CheckUrl(string? url) => Check("url", url, MaxUrlLength);

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
