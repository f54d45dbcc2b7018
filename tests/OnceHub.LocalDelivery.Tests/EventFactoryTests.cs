using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Events;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery.Tests;

public class EventFactoryTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(EveryEvent))]
    public void A_fresh_event_has_new_ids_the_current_time_and_passes_the_schemas(string eventName)
    {
        var sample = JsonNode.Parse(ContractResources.ReadSample(eventName))!;
        var (id, body) = EventFactory.Create(eventName, [], Now);
        var fresh = JsonNode.Parse(body)!;

        Assert.StartsWith("EVNT-", id);
        Assert.Equal(id, (string?)fresh["id"]);
        Assert.NotEqual((string?)sample["id"], id);
        Assert.Equal("2026-03-04T05:06:07Z", (string?)fresh["creation_time"]);
        Assert.Equal(eventName, (string?)fresh["type"]);
        var oldDataId = (string)sample["data"]!["id"]!;
        var newDataId = (string)fresh["data"]!["id"]!;
        Assert.NotEqual(oldDataId, newDataId);
        Assert.Equal(oldDataId[..(oldDataId.IndexOf('-') + 1)], newDataId[..(newDataId.IndexOf('-') + 1)]);
        Assert.Empty(PayloadValidator.Default.Validate(body));
    }

    public static TheoryData<string> EveryEvent() => [.. EventCatalog.Specific.Select(e => e.Name)];

    [Fact]
    public void Two_events_of_one_type_get_different_ids()
    {
        var first = EventFactory.Create("booking.canceled", [], Now).EventId;
        var second = EventFactory.Create("booking.canceled", [], Now).EventId;
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Overrides_take_JSON_when_it_parses_and_a_string_otherwise()
    {
        var (_, body) = EventFactory.Create("booking.scheduled",
        [
            new("data.subject", "Quarterly review"),
            new("data.duration_minutes", "45"),
            new("$.data.form_submission.custom_fields[0].value", "\"17\""),
            new("data.conversation", "null"),
            new("data.virtual_conferencing", "{\"join_url\":\"https://example.com/j\"}"),
        ], Now);
        var data = JsonNode.Parse(body)!["data"]!;
        Assert.Equal("Quarterly review", (string?)data["subject"]);
        Assert.Equal(JsonValueKind.Number, data["duration_minutes"]!.GetValueKind());
        Assert.Equal(45, (int)data["duration_minutes"]!);
        Assert.Equal("17", (string?)data["form_submission"]!["custom_fields"]![0]!["value"]);
        Assert.Null(data["conversation"]);
        Assert.Equal("https://example.com/j", (string?)data["virtual_conferencing"]!["join_url"]);
    }

    [Theory]
    [InlineData("data.subjekt", "no field 'data.subjekt'")]
    [InlineData("data.form_submission.custom_fields[9].value", "out of range")]
    [InlineData("data.subject.inner", "'data.subject.inner' does not exist")]
    [InlineData("data..subject", "empty name")]
    [InlineData("data.form_submission.custom_fields[x]", "[index]")]
    [InlineData("type", "fixed")]
    [InlineData("id", "fixed")]
    public void A_bad_path_is_an_error_naming_it(string path, string expected)
    {
        var ex = Assert.Throws<PayloadOverrideException>(() => EventFactory.Create("booking.scheduled", [new(path, "1")], Now));
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("data.subject=a=b", "data.subject", "a=b")]
    [InlineData(" data.subject =x", "data.subject", "x")]
    public void Set_splits_at_the_first_equals_sign(string text, string path, string value)
    {
        Assert.True(PayloadOverride.TryParse(text, out var parsed, out _));
        Assert.Equal(new PayloadOverride(path, value), parsed);
    }

    [Theory]
    [InlineData("data.subject")]
    [InlineData("=value")]
    public void Set_without_a_path_and_value_is_refused(string text)
    {
        Assert.False(PayloadOverride.TryParse(text, out _, out var error));
        Assert.Contains("PATH=VALUE", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_composite_or_unknown_event_cannot_be_triggered()
    {
        Assert.Throws<ArgumentException>(() => EventFactory.Create("booking", [], Now));
        Assert.Throws<ArgumentException>(() => EventFactory.Create("booking.exploded", [], Now));
    }
}
