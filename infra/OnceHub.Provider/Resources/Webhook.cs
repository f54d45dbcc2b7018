using OnceHub.Provider.Protocol;

namespace OnceHub.Provider.Resources;

/// <summary>
/// The inputs of a webhook as the engine holds them: each may be absent (null), unknown until apply
/// (previews) or secret.
/// </summary>
/// <param name="Name">Unique within the account; absent when the program leaves it to the provider.</param>
/// <param name="Url">Where deliveries go.</param>
/// <param name="Events">The subscribed events.</param>
/// <param name="NameGenerated">
/// The program gave no name and the provider chose it (generated, proposed by the engine, or kept from
/// earlier inputs), so a replacement gets a fresh one; false for an explicit name, and for a kept name
/// the engine's naming pattern proposes again unchanged. Null when the inputs do not say: written before
/// the provider recorded it, or read back by an import.
/// </param>
public sealed record WebhookInputs(Prop<string>? Name, Prop<string>? Url, Prop<IReadOnlyList<string>>? Events, bool? NameGenerated = null);

/// <summary>A webhook as OnceHub holds it: what a create or a read returns.</summary>
/// <param name="Name">Unique within the account.</param>
/// <param name="Url">Where deliveries go.</param>
/// <param name="Events">The subscribed events, in OnceHub's order.</param>
/// <param name="Secret">The signing secret; null when OnceHub did not return one and the state held none.</param>
/// <param name="ApiVersion">The payload version, <c>v2</c>.</param>
/// <param name="CreationTime">UTC, ISO 8601, as the state stores it.</param>
public sealed record WebhookState(
    string Name, string Url, IReadOnlyList<string> Events, string? Secret, string ApiVersion, string CreationTime)
{
    // Records print every property; the signing secret must never reach a log line.
    public override string ToString() =>
        $"WebhookState {{ Name = {Name}, Url = {Url}, Events = [{string.Join(", ", Events)}], Secret = {(Secret is null ? "(none)" : "***")}, ApiVersion = {ApiVersion}, CreationTime = {CreationTime} }}";
}

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

/// <param name="News">The inputs of the program.</param>
/// <param name="Olds">The inputs the last check returned (empty for a new resource).</param>
/// <param name="Naming">How to name the webhook when the program gives no name.</param>
/// <param name="AllowInsecureUrls">The provider lets urls use plain http on a loopback address.</param>
public sealed record WebhookCheck(WebhookInputs News, WebhookInputs Olds, Autonaming Naming, bool AllowInsecureUrls);

/// <summary>The checked inputs, or null with the failures naming each property at fault; warnings about accepted inputs either way.</summary>
public sealed record CheckedInputs(WebhookInputs? Inputs, IReadOnlyList<Failure> Failures, IReadOnlyList<string> Warnings);

/// <param name="Olds">Per property, the old output, else the old input.</param>
/// <param name="News">The checked new inputs.</param>
/// <param name="IgnoreChanges">Properties the program asks to leave alone.</param>
public sealed record WebhookDiff(WebhookInputs Olds, WebhookInputs News, IReadOnlyCollection<string> IgnoreChanges);

public enum ChangeKind
{
    Add,
    Delete,
    Update,
}

/// <summary>Every change replaces the webhook: OnceHub has no update.</summary>
/// <param name="Changes">The inputs that differ, each replacing the webhook.</param>
/// <param name="DeleteBeforeReplace">The old webhook must go before the new one is created.</param>
/// <param name="Warnings">What the replacement costs the user, for the engine to show during the preview.</param>
public sealed record DiffResult(IReadOnlyDictionary<string, ChangeKind> Changes, bool DeleteBeforeReplace, IReadOnlyList<string> Warnings);

/// <param name="Id">The <c>WHK-</c> id.</param>
/// <param name="State">The webhook OnceHub created.</param>
/// <param name="SecretMissing">OnceHub returned no signing secret (a create answer was lost and the webhook could not be swapped for a fresh one).</param>
public sealed record CreateResult(string Id, WebhookState State, bool SecretMissing = false);

/// <summary>The live webhook a refresh or an import found.</summary>
public sealed record ReadResult(string Id, WebhookState State);
