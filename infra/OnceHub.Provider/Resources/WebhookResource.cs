using System.Globalization;
using System.Security.Cryptography;
using OnceHub.Account;
using OnceHub.Api;
using OnceHub.Events;
using OnceHub.Provider.Protocol;

namespace OnceHub.Provider.Resources;

/// <summary>
/// The <c>oncehub:index:Webhook</c> resource: validation, diffing and CRUD over OnceHub's webhook API,
/// in typed inputs and state. The protocol layer decodes requests into these records, and encodes the
/// answers (secret wrapping, and the unknowns of a preview, from <see cref="Properties"/>).
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

    /// <summary>
    /// Every property, in the order the state lists them. Outputs that are not inputs are known only
    /// once OnceHub has created the webhook; the signing secret is always a secret.
    /// </summary>
    public static IReadOnlyList<PropertySpec> Properties { get; } =
    [
        new(Name, Input: true),
        new(Url, Input: true),
        new(Events, Input: true),
        new(Secret, Input: false, Secret: true),
        new(ApiVersion, Input: false),
        new(CreationTime, Input: false),
    ];

    /// <summary>The properties that identify a webhook; any change to one replaces it.</summary>
    public static IReadOnlyList<string> InputNames { get; } = [.. Properties.Where(p => p.Input).Select(p => p.Key)];

    public CheckedInputs Check(WebhookCheck request)
    {
        var failures = new List<Failure>();
        var warnings = new List<string>();
        var (name, url, events, _) = request.News;
        var nameGenerated = false;

        if (name is null)
        {
            (name, nameGenerated) = ChooseName(request.Olds.Name, request.Naming, failures);
        }
        else if (name is { Known: true } n)
        {
            CheckName(n.Value!, failures);
        }

        if (url is null)
        {
            failures.Add(new(Url, "url is required: the https endpoint OnceHub delivers events to."));
        }
        else if (url is { Known: true } u)
        {
            CheckUrl(u.Value!, request.AllowInsecureUrls, failures);
        }

        if (events is null)
        {
            failures.Add(new(Events, "events is required: list at least one event, such as booking or booking.scheduled."));
        }
        else if (events is { Known: true } e)
        {
            events = e with { Value = CheckEvents(e.Value!, e.Secret, failures) };
            if (!e.Secret)
            {
                // Accepted, since older OnceHub documents name it, but the stack may wait for events that never come.
                warnings.AddRange(EventCatalog.NotInCurrentReference(e.Value!).Select(t => $"events: {EventCatalog.NotInCurrentReferenceNote(t)}."));
            }
        }

        return failures.Count > 0 ? new(null, failures, warnings) : new(new(name, url, events, nameGenerated), failures, warnings);
    }

    /// <summary>Compares the old properties with the checked new inputs.</summary>
    public static DiffResult Diff(WebhookDiff request)
    {
        var changes = new Dictionary<string, ChangeKind>(StringComparer.Ordinal);
        foreach (var key in InputNames)
        {
            if (request.IgnoreChanges.Contains(key))
            {
                continue;
            }

            var before = Comparable.Of(request.Olds, key);
            var after = Comparable.Of(request.News, key);
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

        // Names are unique in an account: a replacement keeping its name must free it first. The engine
        // checks the inputs again, without the old ones, before it creates a replacement, so a name the
        // provider chose comes out fresh and the new webhook can be created first. Only the new side
        // counts: an old generated name now written out in the program is kept, and must be freed.
        var keepsName = request.News.Name is { Known: false }
            || (request.News.NameGenerated != true && !changes.ContainsKey(Name));
        var deleteFirst = changes.Count > 0 && keepsName;
        return new(changes, deleteFirst, changes.Count > 0 ? ReplacementWarnings(request.News.Name, deleteFirst) : []);
    }

    /// <summary>
    /// A replacement is a new webhook: receivers must switch to its signing secret, and when an explicit
    /// name stays, OnceHub delivers nothing between the delete and the create.
    /// </summary>
    private static List<string> ReplacementWarnings(Prop<string>? name, bool deleteFirst)
    {
        var which = name is { Known: true, Secret: false } n ? $"webhook '{n.Value}'" : "the webhook";
        var warnings = new List<string>
        {
            $"replacing {which} gives it a new signing secret: receivers verifying with the old one refuse its deliveries until they use the new secret output.",
        };
        if (deleteFirst)
        {
            var keeps = name is { Known: false } ? "may keep its explicit name (not known until apply)" : "keeps its explicit name";
            warnings.Add($"{which} {keeps}, which must be unique in the account, so the old webhook is deleted before the new one is created: "
                + "deliveries between the delete and the create are lost. To replace it without a gap, let the name be generated "
                + "(remove name: the new webhook is then created before the old one is deleted), or change the name in the same update.");
        }

        return warnings;
    }

    /// <summary>Creates the webhook; a preview never gets here (the protocol layer plans it from <see cref="Properties"/>).</summary>
    public async Task<CreateResult> CreateAsync(IWebhookApi? api, WebhookInputs inputs, CancellationToken cancellationToken)
    {
        if (inputs is not { Name.Known: true, Url.Known: true, Events.Known: true })
        {
            throw new InvalidOperationException("Cannot create a webhook whose name, url or events are still unknown.");
        }

        var client = Require(api);
        var request = new WebhookRequest(inputs.Name.Value.Value!, inputs.Url.Value.Value!, inputs.Events.Value.Value!);
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
                return new(created.Id, State(created, null), SecretMissing: true);
            }

            created = await client.CreateAsync(request, cancellationToken);
        }

        redactor.Add(created.Secret);
        return new(created.Id, State(created, created.Secret), string.IsNullOrEmpty(created.Secret));
    }

    /// <summary>
    /// Refresh or import: the live webhook, or null when it is gone. The secret comes from the API when
    /// it returns one, else from <paramref name="knownSecret"/> (the old state's).
    /// </summary>
    public async Task<ReadResult?> ReadAsync(IWebhookApi? api, string id, string? knownSecret, CancellationToken cancellationToken)
    {
        var live = await Require(api).GetAsync(id, cancellationToken);
        if (live is null)
        {
            return null;
        }

        var secret = string.IsNullOrEmpty(live.Secret) ? knownSecret : live.Secret;
        redactor.Add(secret);
        return new(live.Id, State(live, secret));
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

    /// <summary>
    /// No name given: keep the earlier one, else follow the engine's autonaming options, else autoname.
    /// Generated is true when a replacement would get a fresh name (see <see cref="Diff"/>).
    /// </summary>
    private static (Prop<string> Name, bool Generated) ChooseName(Prop<string>? previous, Autonaming naming, List<Failure> failures)
    {
        var proposed = naming.Mode is AutonameMode.Enforce or AutonameMode.Propose && !string.IsNullOrEmpty(naming.ProposedName)
            ? naming.ProposedName
            : null;
        if (previous is { Known: true } kept)
        {
            // The engine proposing the same name again means a naming pattern without a random part:
            // the replacement would get this name too, so it is as fixed as an explicit one.
            return (kept, kept.Value != proposed);
        }

        switch (naming.Mode)
        {
            case AutonameMode.Disable:
                failures.Add(new(Name, "name is required: automatic naming is disabled for this stack."));
                return (Prop<string>.Unknown(), false);
            case not null when proposed is not null:
                CheckName(proposed, failures);
                return (Prop<string>.Of(proposed), true);
            case AutonameMode.Enforce:
                failures.Add(new(Name, "name is required: the engine enforces a naming pattern but proposed no name."));
                return (Prop<string>.Unknown(), false);
            default:
                return (Prop<string>.Of(Autoname(naming.LogicalName, naming.RandomSeed.Span)), true);
        }
    }

    // The account's rules (WebhookRules) decide; the provider only words the refusal for Pulumi.
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

        failures.Add(new(Url, refusal switch
        {
            // A file URL names a path, not an address OnceHub could deliver to.
            { Rule: WebhookRule.Required or WebhookRule.AbsoluteUrl } or { Detail: "file" } =>
                "url must be an absolute URL such as https://hooks.example.com/oncehub.",
            { Detail: not "http" } => $"url must use https, not {refusal.Detail}.",
            { Rule: WebhookRule.Https } =>
                "url must use https: OnceHub delivers only to https endpoints (a local stack may set oncehub:allowInsecureUrls to use a http://127.0.0.1 receiver).",
            _ => "url may use plain http only for a loopback address (127.0.0.1, [::1] or localhost), even with oncehub:allowInsecureUrls.",
        }));
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

    private static WebhookState State(Webhook webhook, string? secret) =>
        new(webhook.Name, webhook.Url, webhook.Events, string.IsNullOrEmpty(secret) ? null : secret, webhook.ApiVersion, FormatTime(webhook.CreationTime));

    private static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    private static IWebhookApi Require(IWebhookApi? api) =>
        api ?? throw new InvalidOperationException("The oncehub provider is not configured yet (its configuration is unknown until apply).");

    /// <summary>A property as compared by <see cref="Diff"/>: unknown, or its values (events in OnceHub's order, without repeats).</summary>
    private readonly record struct Comparable(bool Unknown, IReadOnlyList<string> Text)
    {
        public static Comparable? Of(WebhookInputs inputs, string key) => key switch
        {
            Name => Of(inputs.Name),
            Url => Of(inputs.Url),
            _ => inputs.Events is { } list ? new(!list.Known, list.Known ? Normalize(list.Value!) : []) : null,
        };

        private static Comparable? Of(Prop<string>? text) => text is { } t ? new(!t.Known, t.Known ? [t.Value!] : []) : null;
    }
}
