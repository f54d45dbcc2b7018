using Google.Protobuf.WellKnownTypes;
using OnceHub.Provider.Resources;

namespace OnceHub.Provider.Protocol;

/// <summary>
/// Every conversion between the engine's property maps and the webhook's records: secret wrappers
/// and unknowns are read here and written here, from <see cref="WebhookResource.Properties"/>.
/// </summary>
public static class WebhookCodec
{
    private const string Name = WebhookResource.Name;
    private const string Url = WebhookResource.Url;
    private const string Events = WebhookResource.Events;

    /// <summary>
    /// The inputs the provider filled in itself, as Pulumi's bridged providers record them. The engine
    /// keeps keys starting with <c>__</c> in the state but treats them as internal: never shown, never a
    /// property of the package schema.
    /// </summary>
    public const string Defaults = "__defaults";

    /// <summary>
    /// Check's inputs. A value of the wrong type, or a key that is no input, is a failure naming the
    /// property; such a property is then left out of the inputs.
    /// </summary>
    public static (WebhookInputs Inputs, IReadOnlyList<Failure> Failures) DecodeCheck(Struct? news)
    {
        var failures = new List<Failure>();
        var reader = new PropertyReader(news);
        var inputs = new WebhookInputs(
            Strict(() => reader.String(Name), failures),
            Strict(() => reader.String(Url), failures),
            Strict(() => reader.StringList(Events), failures));

        // The provider's own record is not the program's to set: Check writes it afresh.
        var names = WebhookResource.InputNames;
        foreach (var key in reader.Keys.Where(k => !names.Contains(k) && k != Defaults && reader.Has(k)))
        {
            failures.Add(new(key, $"{key} is not an input of {WebhookResource.Token}; its inputs are {string.Join(", ", names.SkipLast(1))} and {names[^1]}."));
        }

        return (inputs, failures);
    }

    /// <summary>
    /// Inputs the engine kept or already checked (old inputs, old state, Diff's news). A value of the
    /// wrong type there can only be fixed by replacing, so it reads as unknown: it differs from anything.
    /// </summary>
    public static WebhookInputs DecodeLenient(Struct? properties) => DecodeOld(properties, null);

    /// <summary>Diff's old side, read as <see cref="DecodeLenient"/>: per property the old output, else the old input.</summary>
    public static WebhookInputs DecodeOld(Struct? outputs, Struct? inputs)
    {
        var fromOutputs = new PropertyReader(outputs);
        var fromInputs = new PropertyReader(inputs);
        PropertyReader From(string key) => fromOutputs.Has(key) ? fromOutputs : fromInputs;
        return new(
            Lenient(() => From(Name).String(Name)),
            Lenient(() => From(Url).String(Url)),
            Lenient(() => From(Events).StringList(Events)),
            NameGenerated(From(Defaults)));
    }

    /// <summary>Create's inputs: every input must be there, of its type (a preview may leave them unknown).</summary>
    /// <exception cref="PropertyTypeException">An input is missing or of the wrong type.</exception>
    public static WebhookInputs DecodeCreate(Struct? properties)
    {
        var reader = new PropertyReader(properties);
        return new(
            reader.String(Name) ?? throw new PropertyTypeException(Name, "set"),
            reader.String(Url) ?? throw new PropertyTypeException(Url, "set"),
            reader.StringList(Events) ?? throw new PropertyTypeException(Events, "set"));
    }

    /// <summary>The signing secret an earlier state holds, when it is known and a string.</summary>
    public static string? DecodeSecret(Struct? state) =>
        Lenient(() => new PropertyReader(state).String(WebhookResource.Secret)) is { Known: true } s ? s.Value : null;

    /// <summary>Inputs for the engine to keep: with the list of defaulted inputs when they say whether the name was generated.</summary>
    public static Struct EncodeInputs(WebhookInputs inputs)
    {
        var writer = new PropertyWriter().Set(Name, inputs.Name).Set(Url, inputs.Url).Set(Events, inputs.Events);
        if (inputs.NameGenerated is { } generated)
        {
            writer.Set(Defaults, Prop<IReadOnlyList<string>>.Of(generated ? [Name] : []));
        }

        return writer.Build();
    }

    /// <summary>
    /// What a preview of a create reports: the inputs as they are, and every output only the API knows
    /// as unknown (secret where the resource declares it so).
    /// </summary>
    public static Struct EncodePlan(WebhookInputs inputs)
    {
        var writer = new PropertyWriter().Set(Name, inputs.Name).Set(Url, inputs.Url).Set(Events, inputs.Events);
        foreach (var output in WebhookResource.Properties.Where(p => !p.Input))
        {
            writer.Set(output.Key, Prop<string>.Unknown(output.Secret));
        }

        return writer.Build();
    }

    /// <summary>
    /// The state as outputs. An input the program marked secret stays secret in the state; outputs the
    /// resource declares secret always are.
    /// </summary>
    public static Struct EncodeState(WebhookState state, IReadOnlySet<string> secretInputs)
    {
        var writer = new PropertyWriter()
            .Set(Name, Prop<string>.Of(state.Name, IsSecret(Name, secretInputs)))
            .Set(Url, Prop<string>.Of(state.Url, IsSecret(Url, secretInputs)))
            .Set(Events, Prop<IReadOnlyList<string>>.Of(state.Events, IsSecret(Events, secretInputs)))
            .Set(WebhookResource.ApiVersion, Prop<string>.Of(state.ApiVersion, IsSecret(WebhookResource.ApiVersion, secretInputs)))
            .Set(WebhookResource.CreationTime, Prop<string>.Of(state.CreationTime, IsSecret(WebhookResource.CreationTime, secretInputs)));
        if (!string.IsNullOrEmpty(state.Secret))
        {
            writer.Set(WebhookResource.Secret, Prop<string>.Of(state.Secret, IsSecret(WebhookResource.Secret, secretInputs)));
        }

        return writer.Build();
    }

    /// <summary>
    /// The inputs a read gives back (an import compares them with the program; a refresh keeps them), with
    /// the same secrets as the state and the old inputs' record of a generated name (none for an import).
    /// </summary>
    public static Struct EncodeStateInputs(WebhookState state, IReadOnlySet<string> secretInputs, bool? nameGenerated) => EncodeInputs(new(
        Prop<string>.Of(state.Name, secretInputs.Contains(Name)),
        Prop<string>.Of(state.Url, secretInputs.Contains(Url)),
        Prop<IReadOnlyList<string>>.Of(state.Events, secretInputs.Contains(Events)),
        nameGenerated));

    /// <summary>The inputs marked secret in any of <paramref name="sources"/>.</summary>
    public static IReadOnlySet<string> SecretInputs(params WebhookInputs[] sources)
    {
        var secret = new HashSet<string>(StringComparer.Ordinal);
        foreach (var inputs in sources)
        {
            if (inputs.Name is { Secret: true })
            {
                secret.Add(Name);
            }

            if (inputs.Url is { Secret: true })
            {
                secret.Add(Url);
            }

            if (inputs.Events is { Secret: true })
            {
                secret.Add(Events);
            }
        }

        return secret;
    }

    // Unreadable or absent: the inputs do not say (older state, or not written by this provider).
    private static bool? NameGenerated(PropertyReader reader) =>
        Lenient(() => reader.StringList(Defaults)) is { Known: true } list ? list.Value!.Contains(Name) : null;

    private static bool IsSecret(string key, IReadOnlySet<string> secretInputs) =>
        WebhookResource.Properties.Single(p => p.Key == key) is var spec && (spec.Secret || spec.Input && secretInputs.Contains(key));

    private static T? Strict<T>(Func<T?> read, List<Failure> failures)
        where T : struct
    {
        try
        {
            return read();
        }
        catch (PropertyTypeException e)
        {
            failures.Add(new(e.Property, e.Message));
            return null;
        }
    }

    private static Prop<T>? Lenient<T>(Func<Prop<T>?> read)
        where T : notnull
    {
        try
        {
            return read();
        }
        catch (PropertyTypeException)
        {
            return Prop<T>.Unknown();
        }
    }
}
