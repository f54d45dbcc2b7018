using System.Reflection;
using System.Text.Json.Serialization;
using OnceHub.Contracts.Delivery;

namespace OnceHub.LocalDelivery;

/// <summary>Where a delivery (one event to one webhook) stands; the name is its JSON and its stored text alike.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeliveryStatus>))]
public enum DeliveryStatus
{
    /// <summary>Waiting for its next attempt.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,
    /// <summary>An attempt got a 2xx.</summary>
    [JsonStringEnumMemberName("delivered")]
    Delivered,
    /// <summary>Every attempt of the window failed; its webhook was disabled.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
    /// <summary>Ended without a 2xx because its webhook was disabled or deleted.</summary>
    [JsonStringEnumMemberName("dropped")]
    Dropped,
}

/// <summary>How a fan-out went for one webhook; the name is its JSON.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WebhookOutcomeKind>))]
public enum WebhookOutcomeKind
{
    /// <summary>Attempt 1 got a 2xx.</summary>
    [JsonStringEnumMemberName("delivered")]
    Delivered,
    /// <summary>Attempt 1 failed; the delivery waits for its next attempt.</summary>
    [JsonStringEnumMemberName("retry scheduled")]
    RetryScheduled,
    /// <summary>The webhook is disabled locally: nothing was sent, as OnceHub sends nothing to a disabled webhook.</summary>
    [JsonStringEnumMemberName("disabled")]
    SkippedDisabled,
    /// <summary>The webhook was deleted from the account meanwhile.</summary>
    [JsonStringEnumMemberName("dropped")]
    Dropped,
    /// <summary>The process stopped before the attempt finished; the delivery stays pending.</summary>
    [JsonStringEnumMemberName("interrupted")]
    Interrupted,
}

/// <summary>What a row of the delivery log records; the name is its stored text and what the log shows.</summary>
internal enum LoggedOutcome
{
    [JsonStringEnumMemberName("accepted")]
    Accepted,
    [JsonStringEnumMemberName("refused")]
    Refused,
    [JsonStringEnumMemberName("timeout")]
    TimedOut,
    [JsonStringEnumMemberName("connection failed")]
    ConnectionFailed,
    [JsonStringEnumMemberName("canceled")]
    Canceled,
    /// <summary>The delivery ended without an attempt.</summary>
    [JsonStringEnumMemberName("dropped")]
    Dropped,
}

/// <summary>The text a state is stored and shown as: the <see cref="JsonStringEnumMemberNameAttribute"/> of its member.</summary>
public static class StateName
{
    /// <summary>As stored, in JSON and in the CLI's lines: <c>pending</c>, <c>delivered</c>, <c>failed</c>, <c>dropped</c>.</summary>
    public static string Name(this DeliveryStatus status) => Of(status);

    /// <summary>As in JSON and in the CLI's lines: <c>delivered</c>, <c>retry scheduled</c>, <c>disabled</c>, <c>dropped</c>, <c>interrupted</c>.</summary>
    public static string Name(this WebhookOutcomeKind outcome) => Of(outcome);

    /// <summary>The text of <see cref="DeliveryStatus.Pending"/> as a SQL literal, for the partial indexes and the queries that use them.</summary>
    internal static readonly string PendingSql = $"'{Of(DeliveryStatus.Pending)}'";

    internal static string Of<TState>(TState state) where TState : struct, Enum => Names<TState>.ByValue[state];

    /// <exception cref="LocalDeliveryException">Not a stored name of <typeparamref name="TState"/>.</exception>
    internal static TState Parse<TState>(string name) where TState : struct, Enum =>
        Names<TState>.ByName.TryGetValue(name, out var state)
            ? state
            : throw new LocalDeliveryException($"The delivery store holds '{name}', which is no {typeof(TState).Name}; it was written by another version.");

    internal static LoggedOutcome Logged(AttemptOutcome outcome) => outcome switch
    {
        AttemptOutcome.Accepted => LoggedOutcome.Accepted,
        AttemptOutcome.Refused => LoggedOutcome.Refused,
        AttemptOutcome.TimedOut => LoggedOutcome.TimedOut,
        AttemptOutcome.ConnectionFailed => LoggedOutcome.ConnectionFailed,
        _ => LoggedOutcome.Canceled,
    };

    private static class Names<TState> where TState : struct, Enum
    {
        public static readonly Dictionary<TState, string> ByValue = Enum.GetValues<TState>().ToDictionary(v => v,
            v => typeof(TState).GetField(v.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()!.Name);

        public static readonly Dictionary<string, TState> ByName = ByValue.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);
    }
}
