using Google.Protobuf.WellKnownTypes;

namespace OnceHub.TestSupport;

/// <summary>Builds and reads the engine's Struct values, including Pulumi's secret and unknown markers.</summary>
public static class Props
{
    public const string SecretSig = "1b47061264138c4ac30d75fd1eb44270";
    public const string SigKey = "4dabf18193072939515e22adb298388d";
    public const string UnknownText = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

    public static Value Unknown => Value.ForString(UnknownText);

    public static Struct Of(params (string Key, Value Value)[] fields)
    {
        var s = new Struct();
        foreach (var (key, value) in fields)
        {
            s.Fields[key] = value;
        }

        return s;
    }

    public static Value S(string text) => Value.ForString(text);

    public static Value L(params string[] items) => Value.ForList([.. items.Select(Value.ForString)]);

    public static Value Secret(Value inner) =>
        Value.ForStruct(Of((SigKey, Value.ForString(SecretSig)), ("value", inner)));

    public static bool IsSecret(Value value) =>
        value.KindCase == Value.KindOneofCase.StructValue
        && value.StructValue.Fields.TryGetValue(SigKey, out var sig)
        && sig.StringValue == SecretSig;

    public static bool IsUnknown(Value value) => value.KindCase == Value.KindOneofCase.StringValue && value.StringValue == UnknownText;

    /// <summary>The plain value under any secret wrapper.</summary>
    public static Value Plain(Value value) => IsSecret(value) ? Plain(value.StructValue.Fields["value"]) : value;

    public static string Str(Struct properties, string key) => Plain(properties.Fields[key]).StringValue;

    public static List<string> List(Struct properties, string key) =>
        [.. Plain(properties.Fields[key]).ListValue.Values.Select(v => Plain(v).StringValue)];

    public static Struct Webhook(string? name, string url, params string[] events)
    {
        var s = Of(("url", S(url)), ("events", L(events)));
        if (name is not null)
        {
            s.Fields["name"] = S(name);
        }

        return s;
    }
}
