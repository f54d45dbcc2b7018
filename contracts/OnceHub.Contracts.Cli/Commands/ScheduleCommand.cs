using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OnceHub.Contracts.CommandLine;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary><c>schedule</c>: OnceHub's retry schedule, and what an outage of a given length means.</summary>
internal static class ScheduleCommand
{
    /// <summary>What OnceHub does when the window ends without a 2xx, per its current webhook guide.</summary>
    public const string AfterTheWindow =
        "the event is lost and OnceHub disables the webhook: later events are not delivered until it is re-created or re-enabled";

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "print {\"attempts\":[{\"attempt\":1,\"offsetSeconds\":0},...]}" };
        var outage = new Option<TimeSpan?>("--outage")
        {
            Description = "an outage from the first attempt, e.g. 90s, 35m, 5h, 2d, 1h30m: which attempt first lands after it, "
                + "or that the window ends inside it",
            HelpName = "DURATION",
            CustomParser = r => CommonOptions.Parse<TimeSpan?>(r, "--outage", static v => Parsing.Duration("--outage", v)),
        };
        var command = new Command("schedule", "Print OnceHub's retry schedule for a failed delivery: after 35 s, then 3 min, then 72 min, then every "
            + "6 h, for 72 h from the first attempt. When the window ends without a 2xx, " + AfterTheWindow + ".")
        {
            json, outage,
        };
        command.SetAction(parsed =>
        {
            var output = parsed.InvocationConfiguration.Output;
            var length = parsed.GetValue(outage);
            OutageOutcome? outcome = length is { } l ? RetrySchedule.ForOutage(l) : null;
            if (parsed.GetValue(json))
            {
                output.WriteLine(ToJson(outcome, length ?? default));
                return ExitCodes.Ok;
            }
            output.WriteLine("ATTEMPT  OFFSET (s)  OFFSET       WAIT BEFORE");
            for (var i = 0; i < RetrySchedule.AttemptCount; i++)
            {
                var offset = RetrySchedule.Offsets[i];
                var wait = i == 0 ? "-" : Parsing.Human(RetrySchedule.DelayBefore(i + 1));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{i + 1,7}  {(long)offset.TotalSeconds,10}  {Parsing.Human(offset),-11}  {wait}"));
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{RetrySchedule.AttemptCount} attempts; the last at {RetrySchedule.Offsets[^1].TotalSeconds} s ({RetrySchedule.Offsets[^1].TotalHours:0.00} h); none after {RetrySchedule.Window.TotalHours} h."));
            output.WriteLine($"If none gets a 2xx, {AfterTheWindow}.");
            if (outcome is { } o)
            {
                var human = Parsing.Human(length!.Value);
                output.WriteLine(o.Lost
                    ? $"An outage of {human} from the first attempt outlasts every attempt: {AfterTheWindow}."
                    : string.Create(CultureInfo.InvariantCulture,
                        $"An outage of {human} from the first attempt: attempt {o.Attempt} at {o.Offset.TotalSeconds} s ({Parsing.Human(o.Offset)}) is the first to land after it."));
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static string ToJson(OutageOutcome? outage = null, TimeSpan outageLength = default)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("attempts");
            for (var i = 0; i < RetrySchedule.AttemptCount; i++)
            {
                json.WriteStartObject();
                json.WriteNumber("attempt", i + 1);
                json.WriteNumber("offsetSeconds", (long)RetrySchedule.Offsets[i].TotalSeconds);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (outage is { } o)
            {
                json.WriteStartObject("outage");
                json.WriteNumber("seconds", (long)outageLength.TotalSeconds);
                json.WriteBoolean("lost", o.Lost);
                if (o.Lost)
                {
                    json.WriteBoolean("webhookDisabled", true);
                }
                else
                {
                    json.WriteNumber("attempt", o.Attempt);
                    json.WriteNumber("offsetSeconds", (long)o.Offset.TotalSeconds);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
