using Grpc.Core;
using OnceHub.Emulator;
using OnceHub.Provider.Tests.Lifecycle;
using Xunit.Abstractions;

namespace OnceHub.Provider.Tests;

/// <summary>
/// The life of a webhook as the engine drives it, one table row per case: each step calls the provider
/// (hosted in this process) and asserts the answer. After every case, no API key or signing secret
/// reached the provider's logs (collected at the highest verbosity) or the engine's.
/// </summary>
public sealed class LifecycleTests(ITestOutputHelper output)
{
    private const string AutoNamed = "bookings-[a-z0-9]{7}";
    private const string WrongKey = "wrong-key-0d8e1f2a3b";

    private static readonly string[] Given = ["booking", "conversation.closed", "booking"];
    private static readonly string[] Deduplicated = ["booking", "conversation.closed"];

    public static IReadOnlyList<LifecycleCase> Cases { get; } =
    [
        new("whole life against the emulator", AccountKind.Emulator,
        [
            new Check("bookings", null, Given, AutoNamed, Deduplicated), new Preview(), new Create(), new Refresh(),
            new Diff([]), new Import(), new Delete(), new RefreshFindsItGone(), new Delete(AlreadyGone: true),
        ]),
        new("whole life against a file account given by a relative path", AccountKind.RelativeFileAccount,
        [
            new Check("bookings", null, Given, AutoNamed, Deduplicated), new Preview(), new Create(), new AccountFolderExists(),
            new Refresh(), new Diff([]), new Import(), new Delete(), new RefreshFindsItGone(), new Delete(AlreadyGone: true),
        ]),
        new("a dropped create answer leaves one webhook with its secret", AccountKind.Emulator,
        [
            new Check("dropped", "dropped", Given, "dropped", Deduplicated), new DropCreateAnswers(1), new Create(),
            new OnlyTheCreatedWebhookExists(),
        ]),
        new("every create answer lost: one webhook, no secret, a warning", AccountKind.Emulator,
        [
            new Check("unlucky", "unlucky", Given, "unlucky", Deduplicated), new DropCreateAnswers(2), new CreateWithoutSecret(),
        ]),
        new("a taken name and a wrong key fail in one sentence, adding nothing", AccountKind.Emulator,
        [
            new Check("taken", "taken", Given, "taken", Deduplicated), new Create(),
            new CreateFails(StatusCode.AlreadyExists, "A webhook subscription with this name already exists: 'taken'"),
            new Configure(WrongKey), new Check("other", "other", Given, "other", Deduplicated),
            new CreateFails(StatusCode.Unauthenticated, "oncehub:apiKey"),
        ]),
        new("a new url replaces the webhook under its name, deleting first", AccountKind.Emulator,
        [
            new Check("hooks", "hooks", Given, "hooks", Deduplicated), new Create(),
            new Check("hooks", "hooks", Given, "hooks", Deduplicated, Check.Https + "/v2"), new Diff(["url"], DeleteFirst: true),
            new Replace(DeleteFirst: true), new Refresh(), new Diff([]), new Delete(),
        ]),
        new("an autonamed webhook's new url replaces it creating first, under a fresh name", AccountKind.Emulator,
        [
            new Check("bookings", null, Given, AutoNamed, Deduplicated), new Create(), new Refresh(),
            new Check("bookings", null, Given, AutoNamed, Deduplicated, Check.Https + "/v2"), new Diff(["url"], DeleteFirst: false),
            new ReCheck([7, 7, 7, 7]), new Replace(DeleteFirst: false), new Refresh(), new Diff([]), new Delete(),
        ]),
        new("an autonamed webhook in a file account is replaced creating first too", AccountKind.RelativeFileAccount,
        [
            new Check("bookings", null, Given, AutoNamed, Deduplicated), new Create(),
            new Check("bookings", null, Given, AutoNamed, Deduplicated, Check.Https + "/v2"), new Diff(["url"], DeleteFirst: false),
            new ReCheck([7, 7, 7, 7]), new Replace(DeleteFirst: false), new Diff([]), new Delete(),
        ]),
        new("new events for an autoname replace creating first; so does a new explicit name", AccountKind.Emulator,
        [
            new Check("bookings", null, Given, AutoNamed, Deduplicated), new Create(),
            new Check("bookings", null, ["booking"], AutoNamed, ["booking"]), new Diff(["events"], DeleteFirst: false),
            new Check("bookings", "bookings-2", ["booking"], "bookings-2", ["booking"]), new Diff(["name", "events"]),
            new Replace(DeleteFirst: false), new Refresh(), new Diff([]), new Delete(),
        ]),
        new("a deleted webhook answered in redacted mode: refresh finds it gone, deleting again succeeds", AccountKind.Emulator,
        [
            new Check("bookings", null, Given, AutoNamed, Deduplicated), new Create(), new Refresh(), new Delete(),
            new RefreshFindsItGone(), new DeleteAgainSucceeds(),
        ], new EmulatorOptions { RedactDeleted = true }),
        new("reads that return the secret: import gets it as a secret output", AccountKind.Emulator,
        [
            new Check("bookings", null, Given, AutoNamed, Deduplicated), new Create(), new ImportGetsTheSecret(),
        ], new EmulatorOptions { SecretOnReads = true }),
    ];

    public static TheoryData<string> CaseNames => [.. Cases.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Lifecycle(string name)
    {
        var lifecycle = Cases.Single(c => c.Name == name);
        await using var run = await LifecycleRun.StartAsync(lifecycle.Account, output, emulatorOptions: lifecycle.Emulator);
        foreach (var (step, i) in lifecycle.Steps.Select((s, i) => (s, i)))
        {
            output.WriteLine($"step {i + 1}: {step}");
            await step.RunAsync(run);
        }

        var logs = string.Join("\n", run.Session.Engine.Logs.Select(l => l.Message));
        Assert.NotEmpty(run.Session.Log);
        Assert.All(run.Sensitive, s =>
        {
            Assert.DoesNotContain(s, run.Session.Log, StringComparison.Ordinal);
            Assert.DoesNotContain(s, logs, StringComparison.Ordinal);
        });
    }
}
