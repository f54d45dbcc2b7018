namespace OnceHub.Account;

/// <summary>An account operation's outcome: a value, or the error OnceHub would answer with.</summary>
public readonly record struct AccountResult<T>
{
    private AccountResult(T? value, ApiError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public ApiError? Error { get; }

    public bool IsSuccess => Error is null;

    public static AccountResult<T> Ok(T value) => new(value, null);

    public static AccountResult<T> Fail(ApiError error) => new(default, error);

    public static implicit operator AccountResult<T>(ApiError error) => Fail(error);
}
