using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace OnceHub.Webhooks.Events;

/// <summary>
/// A field OnceHub sends either as an id (API v1 webhooks, or an object not expanded) or as the expanded
/// object (API v2): <see cref="Id"/> is set in both cases when the object carries one.
/// </summary>
public sealed class Expandable<T> where T : class
{
    public Expandable(string id) => Id = id;

    public Expandable(T value, string? id)
    {
        Value = value;
        Id = id;
    }

    /// <summary>The id: the field itself when sent as a string, else the expanded object's id.</summary>
    public string? Id { get; }

    /// <summary>The expanded object; null when only the id was sent.</summary>
    public T? Value { get; }

    public bool IsExpanded => Value is not null;

    public override string ToString() => IsExpanded ? $"{typeof(T).Name} {Id}" : Id ?? "";
}

/// <summary>Reads and writes an <see cref="Expandable{T}"/>: a JSON string is the id, an object is the value.</summary>
public sealed class ExpandableConverter<T> : JsonConverter<Expandable<T>> where T : class
{
    public override Expandable<T>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return new Expandable<T>(reader.GetString()!);
            case JsonTokenType.StartObject:
                // The options' resolver is the source-generated context: no reflection here.
                var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
                using (var document = JsonDocument.ParseValue(ref reader))
                {
                    var value = document.RootElement.Deserialize(info)!;
                    var id = document.RootElement.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                    return new Expandable<T>(value, id);
                }
            default:
                throw new JsonException($"expected an id (string) or an object for {typeof(T).Name}, got {reader.TokenType}");
        }
    }

    public override void Write(Utf8JsonWriter writer, Expandable<T> value, JsonSerializerOptions options)
    {
        if (value.Value is { } expanded)
        {
            JsonSerializer.Serialize(writer, expanded, (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T)));
        }
        else
        {
            writer.WriteStringValue(value.Id);
        }
    }
}

/// <summary>
/// An enumeration backed by its string: the documented values are static members, and a value OnceHub adds
/// later is kept as it was sent instead of failing the whole event.
/// </summary>
public interface IStringEnum<TSelf> where TSelf : IStringEnum<TSelf>
{
    string Value { get; }

    static abstract TSelf FromValue(string value);

    /// <summary>Whether <see cref="Value"/> is one the schema documents.</summary>
    bool IsKnown { get; }
}

/// <summary>Reads and writes an <see cref="IStringEnum{TSelf}"/> as its JSON string.</summary>
public sealed class StringEnumConverter<T> : JsonConverter<T> where T : IStringEnum<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw new JsonException($"expected a string for {typeof(T).Name}, got {reader.TokenType}");
        }
        return T.FromValue(reader.GetString()!);
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}
