using System.Globalization;
using OnceHub.LocalDelivery;

namespace OnceHub.Emulator.LocalDelivery;

/// <summary>
/// The emulator's local delivery. The trigger route is always there; <see cref="Deliver"/> makes the emulator
/// also send every due retry for its account, like <c>trigger --follow</c> does for one event.
/// </summary>
public sealed record EmulatorDeliverySettings
{
    public bool Deliver { get; init; }

    public DeliveryTime Time { get; init; } = DeliveryTime.Real();

    /// <summary>Null: the local delivery's default (an assumption: OnceHub documents no per-attempt timeout).</summary>
    public TimeSpan? AttemptTimeout { get; init; }
}

/// <summary>The emulator's local-delivery flags, read apart from its other flags so either parser can host them.</summary>
public static class EmulatorDeliveryFlags
{
    public const string Usage =
        "  --deliver              send the retries of every delivery of the account (the trigger route is at /local/events)\n" +
        "  --time-scale N         run the retry schedule N times faster\n" +
        "  --virtual-time         run the retry schedule in virtual time (the 72 h window in milliseconds)\n" +
        "  --attempt-timeout S    seconds one delivery attempt may take (OnceHub documents none)";

    /// <summary>Takes the delivery flags out of <paramref name="args"/>; the rest goes to the emulator's parser.</summary>
    public static EmulatorDeliverySettings Extract(IReadOnlyList<string> args, out List<string> rest, out string? error)
    {
        rest = [];
        error = null;
        var settings = new EmulatorDeliverySettings();
        double? scale = null;
        var isVirtual = false;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--deliver":
                    settings = settings with { Deliver = true };
                    break;
                case "--virtual-time":
                    isVirtual = true;
                    break;
                case "--time-scale" or "--attempt-timeout" when i + 1 >= args.Count:
                    error = $"{args[i]} needs a value";
                    return settings;
                case "--time-scale":
                    if (!double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || !double.IsFinite(n) || n <= 0)
                    {
                        error = "--time-scale must be a positive number";
                        return settings;
                    }
                    scale = n;
                    break;
                case "--attempt-timeout":
                    if (!double.TryParse(args[++i], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) || !double.IsFinite(s) || s <= 0 || s > 600)
                    {
                        error = "--attempt-timeout must be a number of seconds in (0, 600]";
                        return settings;
                    }
                    settings = settings with { AttemptTimeout = TimeSpan.FromSeconds(s) };
                    break;
                default:
                    rest.Add(args[i]);
                    break;
            }
        }
        if (scale is not null && isVirtual)
        {
            error = "--time-scale and --virtual-time exclude each other";
            return settings;
        }
        return settings with { Time = isVirtual ? DeliveryTime.Virtual() : scale is { } k ? DeliveryTime.Scaled(k) : DeliveryTime.Real() };
    }
}
