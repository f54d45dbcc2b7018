using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using OnceHub.Account;
using OnceHub.Api;
using OnceHub.Events;
using OnceHub.Provider.Protocol;

namespace OnceHub.Provider.Resources;

/// <summary>The inputs of a webhook; during previews any of them may be unknown.</summary>
public sealed record WebhookInputs(Prop<string> Name, Prop<string> Url, Prop<IReadOnlyList<string>> Events);

/// <summary>How the engine asks for names (newer engines send a proposal and a mode).</summary>
public enum AutonameMode
{
    Propose,
    Enforce,
    Disable,
}

/// <param name="LogicalName">The resource's name in the program.</param>
/// <param name="RandomSeed">The engine's seed: the same seed gives the same name.</param>
/// <param name="Mode">Null when the engine sent no autonaming options.</param>
/// <param name="ProposedName">The engine's proposal, when it made one.</param>
public sealed record Autonaming(string LogicalName, ReadOnlyMemory<byte> RandomSeed, AutonameMode? Mode, string? ProposedName);

public sealed record CheckResult(Struct? Inputs, IReadOnlyList<Failure> Failures)
{
    // The inputs may hold values the user marked secret: print their keys only.
    public override string ToString() =>
        $"CheckResult {{ Inputs = [{Keys(Inputs)}], Failures = {Failures.Count} }}";

    internal static string Keys(Struct? properties) => properties is null ? "" : string.Join(", ", properties.Fields.Keys);
}

public enum ChangeKind
{
    Add,
    Delete,
    Update,
}

/// <summary>Every change replaces the webhook: OnceHub has no update.</summary>
public sealed record DiffResult(IReadOnlyDictionary<string, ChangeKind> Changes, bool DeleteBeforeReplace);

/// <param name="Id">The <c>WHK-</c> id; empty for a preview.</param>
/// <param name="Outputs">The output properties.</param>
/// <param name="SecretMissing">OnceHub returned no signing secret (a create answer was lost and the webhook could not be swapped for a fresh one).</param>
public sealed record CreateResult(string Id, Struct Outputs, bool SecretMissing = false)
{
    // The outputs hold the signing secret: print their keys only.
    public override string ToString() =>
        $"CreateResult {{ Id = {Id}, Outputs = [{CheckResult.Keys(Outputs)}], SecretMissing = {SecretMissing} }}";
}

/// <summary>A missing webhook has an empty <see cref="Id"/> and no properties.</summary>
public sealed record ReadResult(string Id, Struct? Outputs, Struct? Inputs)
{
    // The outputs hold the signing secret: print their keys only.
    public override string ToString() =>
        $"ReadResult {{ Id = {Id}, Outputs = [{CheckResult.Keys(Outputs)}], Inputs = [{CheckResult.Keys(Inputs)}] }}";
}

/// <summary>
/// The <c>oncehub:index:Webhook</c> resource: validation, diffing and CRUD over OnceHub's webhook API.
/// Knows nothing of gRPC; the protocol layer hands it properties and turns its answers into responses.
/// </summary>
public sealed class WebhookResource(Redactor redactor)
{
    public const string Token = "oncehub:index:Webhook";

    public const string Name = "name";
    public const string Url = "url";
    public const string Events = "events";
    public const string Secret = "secret";
    public const string ApiVersion = "apiVersion";
    public const string CreationTime = "creationTime";

    private const int SuffixLength = 7;
    private const string SuffixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>The properties that identify a webhook; any change to one replaces it.</summary>
    public static IReadOnlyList<string> InputNames { get; } = [Name, Url, Events];

    public CheckResult Check(Struct? olds, Struct? news, Autonaming naming, bool allowInsecureUrls)
    {
        var failures = new List<Failure>();
        var reader = new PropertyReader(news);
        var old = new PropertyReader(olds);

        var name = Read(() => reader.String(Name), failures);
        var url = Read(() => reader.String(Url), failures);
        var events = Read(() => reader.StringList(Events), failures);

        foreach (var key in reader.Keys.Where(k => !InputNames.Contains(k) && reader.Has(k)))
        {
            failures.Add(new(key, $"{key} is not an input of {Token}; its inputs are name, url and events."));
        }

        if (name is null && failures.All(f => f.Property != Name))
        {
            name = ChooseName(old, naming, failures);
        }
        else if (name is { Known: true } n)
        {
            CheckName(n.Value!, failures);
        }

        if (url is null)
        {
            if (failures.All(f => f.Property != Url))
            {
                failures.Add(new(Url, "url is required: the https endpoint OnceHub delivers events to."));
            }
        }
        else if (url is { Known: true } u)
        {
            CheckUrl(u.Value!, allowInsecureUrls, failures);
        }

        if (events is null)
        {
            if (failures.All(f => f.Property != Events))
            {
                failures.Add(new(Events, "events is required: list at least one event, such as booking or booking.scheduled."));
            }
        }
        else if (events is { Known: true } e)
        {
            events = e with { Value = CheckEvents(e.Value!, e.Secret, failures) };
        }

        if (failures.Count > 0)
        {
            return new(null, failures);
        }

        return new(new PropertyWriter().Set(Name, name).Set(Url, url).Set(Events, events).Build(), failures);
    }

    /// <summary>Compares old outputs (or old inputs, for keys the outputs lack) with the checked new inputs.</summary>
    public static DiffResult Diff(Struct? oldOutputs, Struct? oldInputs, Struct? news, IReadOnlyCollection<string> ignoreChanges)
    {
        var olds = new PropertyReader(oldOutputs);
        var oldIns = new PropertyReader(oldInputs);
        var fresh = new PropertyReader(news);
        var changes = new Dictionary<string, ChangeKind>(StringComparer.Ordinal);

        foreach (var key in InputNames)
        {
            if (ignoreChanges.Contains(key))
            {
                continue;
            }

            var source = olds.Has(key) ? olds : oldIns;
            var before = Snapshot(source, key);
            var after = Snapshot(fresh, key);
            if (before is null && after is null)
            {
                continue;
            }

            if (before is null)
            {
                changes[key] = ChangeKind.Add;
            }
            else if (after is null)
            {
                changes[key] = ChangeKind.Delete;
            }
            else if (after.Value.Unknown || before.Value.Unknown || !before.Value.Text.ToHashSet(StringComparer.Ordinal).SetEquals(after.Value.Text))
            {
                changes[key] = ChangeKind.Update;
            }
        }

        // Names are unique in an account: a replacement keeping its name must free it first.
        var nameChanges = changes.TryGetValue(Name, out _);
        var newNameUnknown = fresh.Has(Name) && PropertyReader.IsUnknown(Unwrapped(news!, Name));
        return new(changes, changes.Count > 0 && (!nameChanges || newNameUnknown));
    }

    public async Task<CreateResult> CreateAsync(IWebhookApi? api, Struct? properties, bool preview, CancellationToken cancellationToken)
    {
        var inputs = Inputs(properties);
        if (preview)
        {
            var planned = new PropertyWriter()
                .Set(Name, inputs.Name).Set(Url, inputs.Url).Set(Events, inputs.Events)
                .Set(Secret, Prop<string>.Unknown(secret: true))
                .Set(ApiVersion, Prop<string>.Unknown())
                .Set(CreationTime, Prop<string>.Unknown())
                .Build();
            return new(string.Empty, planned);
        }

        if (!inputs.Name.Known || !inputs.Url.Known || !inputs.Events.Known)
        {
            throw new InvalidOperationException("Cannot create a webhook whose name, url or events are still unknown.");
        }

        var client = Require(api);
        var request = new WebhookRequest(inputs.Name.Value!, inputs.Url.Value!, inputs.Events.Value!);
        var created = await client.CreateAsync(request, cancellationToken);
        if (string.IsNullOrEmpty(created.Secret))
        {
            // The answer was lost and the client adopted the committed webhook, but OnceHub shows the
            // secret only in a create answer: swap it for a fresh one so the stack holds a usable secret.
            try
            {
                await client.DeleteAsync(created.Id, cancellationToken);
            }
            catch (OnceHubApiException)
            {
                // Could not swap it: keep the adopted webhook in the stack (the caller warns that its
                // secret is missing) rather than leave a webhook the stack does not know about.
                return new(created.Id, Outputs(created, null, inputs), SecretMissing: true);
            }

            created = await client.CreateAsync(request, cancellationToken);
        }

        redactor.Add(created.Secret);
        return new(created.Id, Outputs(created, created.Secret, inputs), string.IsNullOrEmpty(created.Secret));
    }

    /// <summary>
    /// Refresh (state given) or import (only an id): the live webhook as outputs and inputs. The secret
    /// comes from the API when it returns one, else from the old state.
    /// </summary>
    public async Task<ReadResult> ReadAsync(IWebhookApi? api, string id, Struct? state, Struct? inputs, CancellationToken cancellationToken)
    {
        var live = await Require(api).GetAsync(id, cancellationToken);
        if (live is null)
        {
            return new(string.Empty, null, null);
        }

        var old = new PropertyReader(state);
        var secret = live.Secret;
        if (string.IsNullOrEmpty(secret) && old.Has(Secret))
        {
            secret = old.String(Secret) is { Known: true } s ? s.Value : null;
        }

        redactor.Add(secret);

        // Keep a secret marking the user chose for an input.
        var previous = new PropertyReader(inputs);
        var wasSecret = (string key) => SafeSecret(previous, key) || SafeSecret(old, key);
        var liveInputs = new WebhookInputs(
            Prop<string>.Of(live.Name, wasSecret(Name)),
            Prop<string>.Of(live.Url, wasSecret(Url)),
            Prop<IReadOnlyList<string>>.Of(live.Events, wasSecret(Events)));

        return new(live.Id, Outputs(live, secret, liveInputs),
            new PropertyWriter().Set(Name, liveInputs.Name).Set(Url, liveInputs.Url).Set(Events, liveInputs.Events).Build());
    }

    /// <summary>Deletes; true when deleted now, false when it was already gone (which counts as done).</summary>
    public static Task<bool> DeleteAsync(IWebhookApi? api, string id, CancellationToken cancellationToken) =>
        Require(api).DeleteAsync(id, cancellationToken);

    /// <summary>
    /// <c>&lt;logical name&gt;-&lt;7 chars of [a-z0-9]&gt;</c>, the suffix hashed from the engine's seed so the
    /// same seed always gives the same name (random only when an old engine sends no seed).
    /// </summary>
    public static string Autoname(string logicalName, ReadOnlySpan<byte> seed)
    {
        Span<byte> hash = stackalloc byte[32];
        if (seed.IsEmpty)
        {
            RandomNumberGenerator.Fill(hash);
        }
        else
        {
            SHA256.HashData(seed, hash);
        }

        Span<char> suffix = stackalloc char[SuffixLength];
        for (var i = 0; i < SuffixLength; i++)
        {
            suffix[i] = SuffixAlphabet[hash[i] % SuffixAlphabet.Length];
        }

        return $"{logicalName}-{suffix}";
    }

    /// <summary>
    /// Duplicates are dropped, keeping each event's first position, just as OnceHub stores them; doing
    /// it here keeps the checked inputs equal to what a refresh reads back, so there is no lasting diff.
    /// </summary>
    public static IReadOnlyList<string> Normalize(IEnumerable<string> events) => WebhookRules.WithoutRepeats(events);

    /// <summary>No name given: keep the earlier one, else follow the engine's autonaming options, else autoname.</summary>
    private static Prop<string> ChooseName(PropertyReader old, Autonaming naming, List<Failure> failures)
    {
        if (old.Has(Name) && Read(() => old.String(Name), []) is { Known: true } previous)
        {
            return previous;
        }

        switch (naming.Mode)
        {
            case AutonameMode.Disable:
                failures.Add(new(Name, "name is required: automatic naming is disabled for this stack."));
                return Prop<string>.Unknown();
            case AutonameMode.Enforce or AutonameMode.Propose when !string.IsNullOrEmpty(naming.ProposedName):
                CheckName(naming.ProposedName, failures);
                return Prop<string>.Of(naming.ProposedName);
            case AutonameMode.Enforce:
                failures.Add(new(Name, "name is required: the engine enforces a naming pattern but proposed no name."));
                return Prop<string>.Unknown();
            default:
                return Prop<string>.Of(Autoname(naming.LogicalName, naming.RandomSeed.Span));
        }
    }

    // The account's rules (WebhookRules) decide; the provider only words the failure for Pulumi.
    private static void CheckName(string name, List<Failure> failures)
    {
        if (WebhookRules.CheckName(name) is not null)
        {
            failures.Add(new(Name, "name must contain at least one letter or digit."));
        }
    }

    private static void CheckUrl(string text, bool allowInsecureUrls, List<Failure> failures)
    {
        if (WebhookRules.CheckUrl(text, allowInsecureUrls) is not { } refusal)
        {
            return;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0 || uri.IsFile)
        {
            failures.Add(new(Url, "url must be an absolute URL such as https://hooks.example.com/oncehub."));
        }
        else if (uri.Scheme == Uri.UriSchemeHttps)
        {
            failures.Add(new(Url, Errors.Sentence(refusal.Message)));
        }
        else if (uri.Scheme != Uri.UriSchemeHttp)
        {
            failures.Add(new(Url, $"url must use https, not {uri.Scheme}."));
        }
        else if (!allowInsecureUrls)
        {
            failures.Add(new(Url, "url must use https: OnceHub delivers only to https endpoints (a local stack may set oncehub:allowInsecureUrls to use a http://127.0.0.1 receiver)."));
        }
        else if (!WebhookRules.IsLoopbackHost(uri.Host))
        {
            failures.Add(new(Url, "url may use plain http only for a loopback address (127.0.0.1, [::1] or localhost), even with oncehub:allowInsecureUrls."));
        }
        else
        {
            failures.Add(new(Url, Errors.Sentence(refusal.Message)));
        }
    }

    private static List<string> CheckEvents(IReadOnlyList<string> events, bool secret, List<Failure> failures)
    {
        if (events.Count == 0)
        {
            failures.Add(new(Events, "events must list at least one event, such as booking or booking.scheduled."));
        }

        for (var i = 0; i < events.Count; i++)
        {
            if (!EventCatalog.IsSubscribable(events[i]))
            {
                var shown = secret ? $"events[{i}]" : $"events[{i}] '{events[i]}'";
                failures.Add(new(Events,
                    $"{shown} is not a OnceHub event; use one of: {string.Join(", ", EventCatalog.SubscribableNames)}."));
            }
        }

        return [.. Normalize(events)];
    }

    private static WebhookInputs Inputs(Struct? properties)
    {
        var reader = new PropertyReader(properties);
        return new(
            reader.String(Name) ?? throw new PropertyTypeException(Name, "set"),
            reader.String(Url) ?? throw new PropertyTypeException(Url, "set"),
            reader.StringList(Events) ?? throw new PropertyTypeException(Events, "set"));
    }

    private static Struct Outputs(Webhook webhook, string? secret, WebhookInputs inputs)
    {
        var writer = new PropertyWriter()
            .Set(Name, Prop<string>.Of(webhook.Name, inputs.Name.Secret))
            .Set(Url, Prop<string>.Of(webhook.Url, inputs.Url.Secret))
            .Set(Events, Prop<IReadOnlyList<string>>.Of(webhook.Events, inputs.Events.Secret))
            .Set(ApiVersion, Prop<string>.Of(webhook.ApiVersion))
            .Set(CreationTime, Prop<string>.Of(FormatTime(webhook.CreationTime)));
        if (!string.IsNullOrEmpty(secret))
        {
            writer.Set(Secret, Prop<string>.Of(secret, secret: true));
        }

        return writer.Build();
    }

    private static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static IWebhookApi Require(IWebhookApi? api) =>
        api ?? throw new InvalidOperationException("The oncehub provider is not configured yet (its configuration is unknown until apply).");

    private static T? Read<T>(Func<T?> read, List<Failure> failures)
    {
        try
        {
            return read();
        }
        catch (PropertyTypeException e)
        {
            failures.Add(new(e.Property, e.Message));
            return default;
        }
    }

    private static bool SafeSecret(PropertyReader reader, string key)
    {
        try
        {
            return key == Events ? reader.StringList(key)?.Secret ?? false : reader.String(key)?.Secret ?? false;
        }
        catch (PropertyTypeException)
        {
            return false;
        }
    }

    private static Value Unwrapped(Struct properties, string key)
    {
        var secret = false;
        return PropertyReader.Unwrap(properties.Fields[key], ref secret);
    }

    private readonly record struct Comparable(bool Unknown, IReadOnlyList<string> Text);

    private static Comparable? Snapshot(PropertyReader reader, string key)
    {
        if (!reader.Has(key))
        {
            return null;
        }

        try
        {
            if (key == Events)
            {
                var list = reader.StringList(key)!.Value;
                return new(!list.Known, list.Known ? Normalize(list.Value!) : []);
            }

            var text = reader.String(key)!.Value;
            return new(!text.Known, text.Known ? [text.Value!] : []);
        }
        catch (PropertyTypeException)
        {
            // A value of the wrong type in old state can only be fixed by replacing.
            return new(true, []);
        }
    }
}
