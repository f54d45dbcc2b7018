using Google.Protobuf.WellKnownTypes;

namespace OnceHub.Provider.Protocol;

/// <summary>Pulumi's in-band markers inside <see cref="Struct"/> values.</summary>
public static class Markers
{
    /// <summary>The key whose value <see cref="SecretSignature"/> marks an object as a secret wrapper.</summary>
    public const string SignatureKey = "4dabf18193072939515e22adb298388d";

    public const string SecretSignature = "1b47061264138c4ac30d75fd1eb44270";

    /// <summary>Stands for a value not known until apply (previews).</summary>
    public const string UnknownValue = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
}

/// <summary>
/// One property as the engine sees it: a value, or unknown (during previews); either may be secret.
/// </summary>
public readonly record struct Prop<T>(T? Value, bool Known, bool Secret)
    where T : notnull
{
    public static Prop<T> Of(T value, bool secret = false) => new(value, true, secret);

    public static Prop<T> Unknown(bool secret = false) => new(default, false, secret);

    // Records print every field; a secret's value must never reach a log line.
    public override string ToString() =>
        !Known ? (Secret ? "Prop { unknown, secret }" : "Prop { unknown }")
        : Secret ? "Prop { *** }"
        : $"Prop {{ {Value} }}";

    /// <summary>Transforms a known value, keeping the unknown and secret state.</summary>
    public Prop<TOut> Map<TOut>(Func<T, TOut> map)
        where TOut : notnull =>
        Known ? new(map(Value!), true, Secret) : Prop<TOut>.Unknown(Secret);
}

/// <summary>A property had a value of the wrong type.</summary>
public sealed class PropertyTypeException(string property, string expected)
    : Exception($"{property} must be {expected}.")
{
    public string Property { get; } = property;
}

/// <summary>Reads typed properties out of a <see cref="Struct"/>, unwrapping secrets and noticing unknowns.</summary>
public sealed class PropertyReader(Struct? properties)
{
    private readonly Struct _properties = properties ?? new Struct();

    /// <summary>True when the property is there and not null.</summary>
    public bool Has(string key) =>
        _properties.Fields.TryGetValue(key, out var v) && v.KindCase is not (Value.KindOneofCase.NullValue or Value.KindOneofCase.None);

    public IEnumerable<string> Keys => _properties.Fields.Keys;

    /// <summary>A string property; null when absent.</summary>
    /// <exception cref="PropertyTypeException">The value is not a string.</exception>
    public Prop<string>? String(string key)
    {
        if (!TryGet(key, out var value, out var secret))
        {
            return null;
        }

        if (IsUnknown(value))
        {
            return Prop<string>.Unknown(secret);
        }

        return value.KindCase == Value.KindOneofCase.StringValue
            ? Prop<string>.Of(value.StringValue, secret)
            : throw new PropertyTypeException(key, "a string");
    }

    /// <summary>A list of strings; unknown as a whole when any element is unknown; null when absent.</summary>
    /// <exception cref="PropertyTypeException">The value is not a list of strings.</exception>
    public Prop<IReadOnlyList<string>>? StringList(string key)
    {
        if (!TryGet(key, out var value, out var secret))
        {
            return null;
        }

        if (IsUnknown(value))
        {
            return Prop<IReadOnlyList<string>>.Unknown(secret);
        }

        if (value.KindCase != Value.KindOneofCase.ListValue)
        {
            throw new PropertyTypeException(key, "a list of strings");
        }

        var items = new List<string>(value.ListValue.Values.Count);
        var known = true;
        foreach (var raw in value.ListValue.Values)
        {
            var item = Unwrap(raw, ref secret);
            if (IsUnknown(item))
            {
                known = false;
            }
            else if (item.KindCase == Value.KindOneofCase.StringValue)
            {
                items.Add(item.StringValue);
            }
            else
            {
                throw new PropertyTypeException(key, "a list of strings");
            }
        }

        return known ? Prop<IReadOnlyList<string>>.Of(items, secret) : Prop<IReadOnlyList<string>>.Unknown(secret);
    }

    /// <summary>A boolean; the strings "true" and "false" count too (config values often arrive as strings).</summary>
    /// <exception cref="PropertyTypeException">The value is neither.</exception>
    public Prop<bool>? Bool(string key)
    {
        if (!TryGet(key, out var value, out var secret))
        {
            return null;
        }

        if (IsUnknown(value))
        {
            return Prop<bool>.Unknown(secret);
        }

        return value.KindCase switch
        {
            Value.KindOneofCase.BoolValue => Prop<bool>.Of(value.BoolValue, secret),
            Value.KindOneofCase.StringValue when bool.TryParse(value.StringValue.Trim(), out var b) => Prop<bool>.Of(b, secret),
            _ => throw new PropertyTypeException(key, "a boolean (true or false)"),
        };
    }

    private bool TryGet(string key, out Value value, out bool secret)
    {
        secret = false;
        if (!_properties.Fields.TryGetValue(key, out var raw))
        {
            value = null!;
            return false;
        }

        value = Unwrap(raw, ref secret);
        return value.KindCase is not (Value.KindOneofCase.NullValue or Value.KindOneofCase.None);
    }

    /// <summary>Strips secret wrappers (they may nest), recording that the value was secret.</summary>
    public static Value Unwrap(Value value, ref bool secret)
    {
        while (IsSecretWrapper(value))
        {
            secret = true;
            value = value.StructValue.Fields.TryGetValue("value", out var inner) ? inner : Value.ForNull();
        }

        return value;
    }

    public static bool IsSecretWrapper(Value value) =>
        value.KindCase == Value.KindOneofCase.StructValue
        && value.StructValue.Fields.TryGetValue(Markers.SignatureKey, out var sig)
        && sig.KindCase == Value.KindOneofCase.StringValue
        && sig.StringValue == Markers.SecretSignature;

    public static bool IsUnknown(Value value) =>
        value.KindCase == Value.KindOneofCase.StringValue && value.StringValue == Markers.UnknownValue;
}

/// <summary>Builds a <see cref="Struct"/> the engine reads, wrapping secrets and writing unknowns.</summary>
public sealed class PropertyWriter
{
    private readonly Struct _struct = new();

    public PropertyWriter Set(string key, Prop<string>? prop) =>
        prop is { } p ? Put(key, p.Known ? Value.ForString(p.Value!) : Unknown(), p.Secret) : this;

    public PropertyWriter Set(string key, Prop<IReadOnlyList<string>>? prop) =>
        prop is { } p
            ? Put(key, p.Known ? Value.ForList([.. p.Value!.Select(Value.ForString)]) : Unknown(), p.Secret)
            : this;

    public PropertyWriter Set(string key, Prop<bool>? prop) =>
        prop is { } p ? Put(key, p.Known ? Value.ForBool(p.Value) : Unknown(), p.Secret) : this;

    public Struct Build() => _struct;

    public static Value Unknown() => Value.ForString(Markers.UnknownValue);

    public static Value Secret(Value inner)
    {
        var wrapper = new Struct();
        wrapper.Fields[Markers.SignatureKey] = Value.ForString(Markers.SecretSignature);
        wrapper.Fields["value"] = inner;
        return Value.ForStruct(wrapper);
    }

    private PropertyWriter Put(string key, Value value, bool secret)
    {
        _struct.Fields[key] = secret ? Secret(value) : value;
        return this;
    }
}
