using Google.Protobuf.WellKnownTypes;
using OnceHub.Provider.Tests.Harness;
using OnceHub.TestSupport;
using Pulumirpc;
using Kind = Pulumirpc.PropertyDiff.Types.Kind;

namespace OnceHub.Provider.Tests;

/// <summary>Check and Diff, table-driven, against one provider in process.</summary>
public sealed class CheckDiffTests(ProviderFixture provider) : IClassFixture<ProviderFixture>
{
    private const string Https = "https://hooks.example.com/oncehub";
    private readonly ProviderSession _session = provider.Session;

    public static TheoryData<string, Struct, string> BadInputs => new()
    {
        { "url", Props.Webhook("hooks", "http://hooks.example.com/oncehub", "booking"), "url must use https" },
        { "url", Props.Webhook("hooks", "http://127.0.0.1:5080/hooks", "booking"), "oncehub:allowInsecureUrls" },
        { "url", Props.Webhook("hooks", "/relative/path", "booking"), "absolute URL" },
        { "url", Props.Webhook("hooks", "ftp://hooks.example.com/x", "booking"), "must use https, not ftp" },
        { "url", Props.Of(("events", Props.L("booking"))), "url is required" },
        { "url", Props.Of(("url", Value.ForNumber(3)), ("events", Props.L("booking"))), "url must be a string" },
        { "name", Props.Webhook("--- ---", Https, "booking"), "letter or digit" },
        { "name", Props.Of(("name", Value.ForBool(true)), ("url", Props.S(Https)), ("events", Props.L("booking"))), "name must be a string" },
        { "events", Props.Webhook("hooks", Https), "at least one event" },
        { "events", Props.Webhook("hooks", Https, "booking", "booking.exploded"), "events[1] 'booking.exploded' is not a OnceHub event" },
        { "events", Props.Webhook("hooks", Https, "Booking"), "is not a OnceHub event" },
        { "events", Props.Of(("url", Props.S(Https))), "events is required" },
        { "events", Props.Of(("url", Props.S(Https)), ("events", Props.S("booking"))), "events must be a list of strings" },
        { "color", Props.Of(("url", Props.S(Https)), ("events", Props.L("booking")), ("color", Props.S("red"))), "not an input" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Check_names_the_property_at_fault(string property, Struct news, string reason)
    {
        var response = await _session.CheckAsync("hooks", news);
        Assert.Null(response.Inputs);
        var failure = Assert.Single(response.Failures, f => f.Property == property);
        Assert.Contains(reason, failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_accepts_conversation_reached_out_with_a_warning_that_the_current_reference_does_not_list_it()
    {
        var logged = _session.Engine.Logs.Count;
        var response = await _session.CheckAsync("chats", Props.Webhook("chats", Https, "conversation.reached_out", "conversation.started"));
        Assert.Empty(response.Failures);
        Assert.Equal(["conversation.reached_out", "conversation.started"], Props.List(response.Inputs, "events"));
        var warning = Assert.Single(_session.Engine.Logs.Skip(logged), l => l.Severity == LogSeverity.Warning);
        Assert.Equal(ProviderSession.Urn("chats"), warning.Urn);
        Assert.Contains("'conversation.reached_out' is not listed in OnceHub's current API reference", warning.Message, StringComparison.Ordinal);

        // The documented events and the composites draw no warning.
        logged = _session.Engine.Logs.Count;
        Assert.Empty((await _session.CheckAsync("chats", Props.Webhook("chats", Https, "conversation", "booking.scheduled"))).Failures);
        Assert.DoesNotContain(_session.Engine.Logs.Skip(logged), l => l.Severity == LogSeverity.Warning);
    }

    [Fact]
    public async Task Check_autonames_from_the_seed_and_keeps_an_earlier_name()
    {
        var news = Props.Webhook(null, Https, "booking");
        var first = await _session.CheckAsync("bookings", news, seed: [9, 9, 9]);
        var again = await _session.CheckAsync("bookings", news, seed: [9, 9, 9]);
        var other = await _session.CheckAsync("bookings", news, seed: [1, 2, 3]);

        var name = Props.Str(first.Inputs, "name");
        Assert.Matches("^bookings-[a-z0-9]{7}$", name);
        Assert.Equal(name, Props.Str(again.Inputs, "name"));
        Assert.NotEqual(name, Props.Str(other.Inputs, "name"));

        var kept = await _session.CheckAsync("bookings", news, seed: [4, 4], olds: first.Inputs);
        Assert.Equal(name, Props.Str(kept.Inputs, "name"));
    }

    [Fact]
    public async Task Check_honours_the_engines_autonaming_options()
    {
        CheckRequest Request(CheckRequest.Types.AutonamingOptions.Types.Mode mode, string proposed) => new()
        {
            Urn = ProviderSession.Urn("bookings"),
            Name = "bookings",
            Type = ProviderSession.WebhookType,
            News = Props.Webhook(null, Https, "booking"),
            Autonaming = new CheckRequest.Types.AutonamingOptions { Mode = mode, ProposedName = proposed },
        };

        var proposed = await _session.Client.CheckAsync(Request(CheckRequest.Types.AutonamingOptions.Types.Mode.Propose, "dev-bookings"));
        Assert.Equal("dev-bookings", Props.Str(proposed.Inputs, "name"));

        var enforced = await _session.Client.CheckAsync(Request(CheckRequest.Types.AutonamingOptions.Types.Mode.Enforce, "exact"));
        Assert.Equal("exact", Props.Str(enforced.Inputs, "name"));

        var disabled = await _session.Client.CheckAsync(Request(CheckRequest.Types.AutonamingOptions.Types.Mode.Disable, ""));
        Assert.Equal("name", Assert.Single(disabled.Failures).Property);
    }

    [Fact]
    public async Task Check_records_in___defaults_whether_it_chose_the_name()
    {
        static List<string> Defaulted(CheckResponse r) => Props.List(r.Inputs, "__defaults");
        var unnamed = Props.Webhook(null, Https, "booking");

        var generated = await _session.CheckAsync("bookings", unnamed, seed: [5, 5]);
        Assert.Equal(["name"], Defaulted(generated));

        var explicitName = await _session.CheckAsync("bookings", Props.Webhook("bookings", Https, "booking"), olds: generated.Inputs);
        Assert.Equal([], Defaulted(explicitName));

        // Check, then the state's inputs as olds with a new seed: the name and its record stay.
        var kept = await _session.CheckAsync("bookings", unnamed, seed: [6, 6], olds: generated.Inputs);
        Assert.Equal(Props.Str(generated.Inputs, "name"), Props.Str(kept.Inputs, "name"));
        Assert.Equal(["name"], Defaulted(kept));

        // The engine's second Check before a replacement has no olds: a fresh name, recorded as chosen.
        var fresh = await _session.CheckAsync("bookings", unnamed, seed: [6, 6]);
        Assert.NotEqual(Props.Str(kept.Inputs, "name"), Props.Str(fresh.Inputs, "name"));
        Assert.Equal(["name"], Defaulted(fresh));

        // Olds from before the record existed: the name is kept and now recorded.
        var legacy = await _session.CheckAsync("bookings", unnamed, olds: Props.Webhook("bookings-legacy1", Https, "booking"));
        Assert.Equal("bookings-legacy1", Props.Str(legacy.Inputs, "name"));
        Assert.Equal(["name"], Defaulted(legacy));

        // The program cannot claim the record: it is written afresh, and is no unknown input.
        var claimed = Props.Webhook("bookings", Https, "booking");
        claimed.Fields["__defaults"] = Props.L("name");
        var overwritten = await _session.CheckAsync("bookings", claimed);
        Assert.Empty(overwritten.Failures);
        Assert.Equal([], Defaulted(overwritten));
    }

    [Fact]
    public async Task Check_records_an_engine_proposal_as_chosen_unless_it_repeats_the_old_name()
    {
        Task<CheckResponse> Check(string proposed, Struct? olds) => _session.Client.CheckAsync(new CheckRequest
        {
            Urn = ProviderSession.Urn("bookings"),
            Name = "bookings",
            Type = ProviderSession.WebhookType,
            News = Props.Webhook(null, Https, "booking"),
            Olds = olds ?? new(),
            Autonaming = new CheckRequest.Types.AutonamingOptions { Mode = CheckRequest.Types.AutonamingOptions.Types.Mode.Propose, ProposedName = proposed },
        }).ResponseAsync;

        var first = await Check("dev-bookings-x1", null);
        Assert.Equal(["name"], Props.List(first.Inputs, "__defaults"));

        // A pattern with a random part proposes another name each update: the old one is kept, as chosen.
        var random = await Check("dev-bookings-y2", first.Inputs);
        Assert.Equal("dev-bookings-x1", Props.Str(random.Inputs, "name"));
        Assert.Equal(["name"], Props.List(random.Inputs, "__defaults"));

        // A pattern without one proposes the same name again: a replacement would reuse it, so it counts as fixed.
        var fixedName = await Check("dev-bookings-x1", first.Inputs);
        Assert.Equal("dev-bookings-x1", Props.Str(fixedName.Inputs, "name"));
        Assert.Equal([], Props.List(fixedName.Inputs, "__defaults"));
    }

    [Fact]
    public async Task Check_drops_duplicate_events_keeps_composites_and_passes_unknowns_and_secrets_through()
    {
        var dupes = await _session.CheckAsync("hooks", Props.Webhook("hooks", Https, "booking.canceled", "conversation", "booking.canceled", "booking"));
        Assert.Empty(dupes.Failures);
        Assert.Equal(["booking.canceled", "conversation", "booking"], Props.List(dupes.Inputs, "events"));

        var preview = await _session.CheckAsync("hooks", Props.Of(
            ("name", Props.S("hooks")), ("url", Props.Unknown), ("events", Value.ForList(Props.S("booking"), Props.Unknown))));
        Assert.Empty(preview.Failures);
        Assert.True(Props.IsUnknown(preview.Inputs.Fields["url"]));
        Assert.True(Props.IsUnknown(preview.Inputs.Fields["events"]));

        var secretUrl = await _session.CheckAsync("hooks", Props.Of(
            ("name", Props.S("hooks")), ("url", Props.Secret(Props.S(Https))), ("events", Props.L("booking"))));
        Assert.True(Props.IsSecret(secretUrl.Inputs.Fields["url"]));
        Assert.Equal(Https, Props.Str(secretUrl.Inputs, "url"));
    }

    private static Struct State(string name, string url, params string[] events)
    {
        var s = Props.Webhook(name, url, events);
        s.Fields["secret"] = Props.Secret(Props.S("0123456789abcdef0123456789abcdef"));
        s.Fields["apiVersion"] = Props.S("v2");
        return s;
    }

    private Task<DiffResponse> Diff(Struct olds, Struct news, params string[] ignore)
    {
        var request = new DiffRequest
        {
            Id = "WHK-1",
            Urn = ProviderSession.Urn("hooks"),
            Type = ProviderSession.WebhookType,
            Olds = olds,
            News = news,
            OldInputs = Props.Webhook(Props.Str(olds, "name"), Props.Str(olds, "url"), [.. Props.List(olds, "events")]),
        };
        request.IgnoreChanges.AddRange(ignore);
        return _session.Client.DiffAsync(request).ResponseAsync;
    }

    private static Struct Checked(string name, string url, bool? nameGenerated)
    {
        var s = Props.Webhook(name, url, "booking");
        if (nameGenerated is { } generated)
        {
            s.Fields["__defaults"] = generated ? Props.L("name") : Props.L();
        }

        return s;
    }

    /// <summary>Old inputs, checked new inputs, what is replaced, whether the old webhook goes first.</summary>
    public static TheoryData<string, Struct, Struct, string[], bool> Replacements => new()
    {
        { "generated name, new url", Checked("hooks-a1b2c3d", Https, true), Checked("hooks-a1b2c3d", Https + "/v2", true), ["url"], false },
        { "explicit name, new url", Checked("hooks", Https, false), Checked("hooks", Https + "/v2", false), ["url"], true },
        { "generated name now written in the program", Checked("hooks-a1b2c3d", Https, true), Checked("hooks-a1b2c3d", Https + "/v2", false), ["url"], true },
        { "explicit name removed from the program", Checked("hooks", Https, false), Checked("hooks", Https + "/v2", true), ["url"], false },
        { "news without a record (an older check)", Checked("hooks-a1b2c3d", Https, true), Checked("hooks-a1b2c3d", Https + "/v2", null), ["url"], true },
        { "explicit rename", Checked("hooks", Https, false), Checked("hooks-2", Https + "/v2", false), ["name", "url"], false },
        { "unknown name", Checked("hooks", Https, false), Props.Of(("name", Props.Unknown), ("url", Props.S(Https)), ("events", Props.L("booking"))), ["name"], true },
    };

    [Theory]
    [MemberData(nameof(Replacements))]
    public async Task Diff_deletes_first_only_when_the_replacement_keeps_the_name(string why, Struct oldInputs, Struct news, string[] replaces, bool deleteFirst)
    {
        var logged = _session.Engine.Logs.Count;
        var olds = State(Props.Str(oldInputs, "name"), Props.Str(oldInputs, "url"), "booking");
        var diff = await _session.Client.DiffAsync(new DiffRequest
        {
            Id = "WHK-1",
            Urn = ProviderSession.Urn("hooks"),
            Type = ProviderSession.WebhookType,
            Olds = olds,
            OldInputs = oldInputs,
            News = news,
        });

        Assert.True(replaces.Order().SequenceEqual(diff.Replaces.Order()), why);
        Assert.True(deleteFirst == diff.DeleteBeforeReplace, why);
        var warnings = _session.Engine.Logs.Skip(logged).Where(l => l.Severity == LogSeverity.Warning).Select(l => l.Message).ToList();
        Assert.Contains(warnings, w => w.Contains("new signing secret", StringComparison.Ordinal));
        var gap = warnings.Where(w => w.Contains("deliveries between the delete and the create are lost", StringComparison.Ordinal)).ToList();
        Assert.True(deleteFirst ? gap.Count == 1 : gap.Count == 0, why);
        Assert.All(gap, w =>
        {
            Assert.Contains("explicit name", w, StringComparison.Ordinal);
            Assert.Contains("let the name be generated (remove name", w, StringComparison.Ordinal);
            Assert.Contains("change the name in the same update", w, StringComparison.Ordinal);
        });
        Assert.Equal(deleteFirst ? 2 : 1, warnings.Count);
    }

    [Fact]
    public async Task Diff_sees_no_change_for_the_same_inputs_in_any_order()
    {
        var olds = State("hooks", Https, "booking", "conversation.closed");
        var none = await Diff(olds, Props.Webhook("hooks", Https, "conversation.closed", "booking", "booking"));
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffNone, none.Changes);
        Assert.Empty(none.Replaces);
    }

    [Fact]
    public async Task Diff_replaces_on_any_change_deleting_first_when_the_name_stays()
    {
        var olds = State("hooks", Https, "booking");

        var url = await Diff(olds, Props.Webhook("hooks", Https + "/v2", "booking"));
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffSome, url.Changes);
        Assert.Equal(["url"], url.Replaces);
        Assert.True(url.DeleteBeforeReplace);
        Assert.True(url.HasDetailedDiff);
        Assert.Equal(Kind.UpdateReplace, url.DetailedDiff["url"].Kind);
        Assert.True(url.DetailedDiff["url"].InputDiff);

        var events = await Diff(olds, Props.Webhook("hooks", Https, "booking", "conversation"));
        Assert.Equal(["events"], events.Replaces);
        Assert.True(events.DeleteBeforeReplace);

        var renamed = await Diff(olds, Props.Webhook("hooks-2", Https + "/v2", "booking"));
        Assert.Equal(["name", "url"], renamed.Replaces.Order());
        Assert.False(renamed.DeleteBeforeReplace);

        var unknownName = await Diff(olds, Props.Of(("name", Props.Unknown), ("url", Props.S(Https)), ("events", Props.L("booking"))));
        Assert.Equal(["name"], unknownName.Replaces);
        Assert.True(unknownName.DeleteBeforeReplace);

        var ignored = await Diff(olds, Props.Webhook("hooks", Https + "/v2", "booking"), "url");
        Assert.Equal(DiffResponse.Types.DiffChanges.DiffNone, ignored.Changes);

        // The secret never shows up in a diff.
        Assert.DoesNotContain("0123456789abcdef", url.ToString(), StringComparison.Ordinal);
    }
}
