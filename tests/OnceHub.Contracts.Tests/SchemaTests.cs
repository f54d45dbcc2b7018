using System.Text;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Events;

namespace OnceHub.Contracts.Tests;

public class SchemaTests
{
    private static readonly PayloadValidator Validator = PayloadValidator.Default;

    public static TheoryData<string> SpecificEvents() => [.. EventCatalog.Specific.Select(e => e.Name)];

    private static JsonObject Sample(string name) => JsonNode.Parse(ContractResources.ReadSample(name))!.AsObject();

    private static IReadOnlyList<PayloadError> Validate(JsonNode node) => Validator.Validate(node.ToJsonString());

    [Theory]
    [MemberData(nameof(SpecificEvents))]
    public void Every_sample_is_valid_and_consistent_with_the_catalog(string name)
    {
        var bytes = ContractResources.ReadSample(name);
        Assert.Empty(Validator.Validate(bytes));
        var sample = Sample(name);
        EventCatalog.TryGet(name, out var eventType);
        Assert.Equal(name, (string?)sample["type"]);
        Assert.Equal(eventType.Family.WireName(), (string?)sample["data"]!["object"]);
        Assert.Equal(eventType.DataStatus, (string?)sample["data"]!["status"]);
    }

    [Fact]
    public void Samples_have_distinct_event_ids()
    {
        var ids = EventCatalog.Specific.Select(e => (string?)Sample(e.Name)["id"]).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void Booking_scheduled_sample_is_the_documented_one()
    {
        var sample = Sample("booking.scheduled");
        Assert.Equal("EVNT-KN56U3YL7C", (string?)sample["id"]);
        Assert.Equal("v1", (string?)sample["api_version"]);
        Assert.Equal("CVR-36E9E6F220", (string?)sample["data"]!["conversation"]);
        Assert.Equal("USR-FSD423423", (string?)sample["data"]!["owner"]);
    }

    [Fact]
    public void Type_enum_is_the_catalog_and_the_file_does_not_repeat_it()
    {
        var loaded = Validator.EventSchema.Properties["type"].Enumeration.Cast<string>();
        Assert.Equal(EventCatalog.Specific.Select(e => e.Name), loaded);
        var file = JsonNode.Parse(ContractResources.ReadSchema("event.schema.json"))!;
        Assert.Null(file["properties"]!["type"]!["enum"]);
    }

    [Theory]
    [InlineData("id")]
    [InlineData("object")]
    [InlineData("creation_time")]
    [InlineData("type")]
    [InlineData("api_version")]
    [InlineData("data")]
    public void Missing_envelope_field_is_rejected_at_its_path(string field)
    {
        var sample = Sample("booking.scheduled");
        sample.Remove(field);
        var error = Assert.Single(Validate(sample), e => e.Path == "$." + field);
        Assert.StartsWith("required", error.Rule, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("booking")]
    [InlineData("conversation")]
    [InlineData("booking.created")]
    [InlineData("Booking.Scheduled")]
    [InlineData("")]
    public void Composite_or_unknown_type_is_rejected(string type)
    {
        var sample = Sample("booking.scheduled");
        sample["type"] = type;
        var error = Assert.Single(Validate(sample), e => e.Path == "$.type");
        Assert.StartsWith("enum", error.Rule, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("\"BKNG-J4FR05BKEWEX\"")]
    [InlineData("null")]
    [InlineData("42")]
    public void Non_object_data_is_rejected(string data)
    {
        var sample = Sample("booking.scheduled");
        sample["data"] = JsonNode.Parse(data);
        var error = Assert.Single(Validate(sample), e => e.Path == "$.data");
        Assert.Contains("object", error.Rule, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("booking.scheduled", "conversation")]
    [InlineData("conversation.closed", "booking")]
    [InlineData("booking.no_show", "event")]
    public void Data_object_must_match_the_event_family(string eventName, string wrongObject)
    {
        var sample = Sample(eventName);
        sample["data"]!["object"] = wrongObject;
        var error = Assert.Single(Validate(sample), e => e.Path == "$.data.object");
        Assert.StartsWith("family", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void A_booking_payload_under_a_conversation_type_is_rejected()
    {
        var sample = Sample("booking.scheduled");
        sample["type"] = "conversation.started";
        Assert.Contains(Validate(sample), e => e.Path == "$.data.object");
    }

    public static TheoryData<string, string> AcceptedVariations() => new()
    {
        { "owner", """{"object":"user","id":"USR-FSD423423","name":"Andrea"}""" },
        { "booking_page", """{"object":"booking_page","id":"BP-3F7JAWT4UA"}""" },
        { "master_page", """{"object":"master_page","id":"MP-73E6RHFU77"}""" },
        { "master_page", "null" },
        { "event_type", """{"object":"event_type","id":"ET-7I7PKDTFJS"}""" },
        { "conversation", "null" },
        { "conversation", "\"CVR-36E9E6F220\"" },
        { "conversation", """{"object":"conversation","id":"CVR-36E9E6F220","status":"closed"}""" },
        { "external_calendar", """{"type":"google"}""" },
        { "external_calendar", """{"type":"exchange"}""" },
        { "external_calendar", """{"type":"office_365"}""" },
        { "external_calendar", """{"type":"icloud"}""" },
        { "external_calendar", """{"type":"none","name":null,"id":null,"event_id":null}""" },
    };

    [Theory]
    [MemberData(nameof(AcceptedVariations))]
    public void Documented_variations_are_accepted(string field, string value)
    {
        var sample = Sample("booking.scheduled");
        sample["data"]![field] = JsonNode.Parse(value);
        Assert.Empty(Validate(sample));
    }

    [Theory]
    [InlineData("company", null)]
    [InlineData("company", "")]
    [InlineData("phone", null)]
    [InlineData("phone", "")]
    public void Company_and_phone_may_be_null_or_empty(string field, string? value)
    {
        var sample = Sample("booking.scheduled");
        sample["data"]!["form_submission"]![field] = value;
        Assert.Empty(Validate(sample));
    }

    [Theory]
    [InlineData("owner", "42", "$.data.owner", "anyOf")]
    [InlineData("owner", "\"BP-3F7JAWT4UA\"", "$.data.owner", "anyOf")]
    [InlineData("status", "\"pending\"", "$.data.status", "enum")]
    [InlineData("id", "\"EVNT-1\"", "$.data.id", "pattern")]
    [InlineData("starting_time", "\"tomorrow\"", "$.data.starting_time", "format")]
    [InlineData("duration_minutes", "\"sixty\"", "$.data.duration_minutes", "type")]
    public void Wrong_booking_fields_are_rejected_with_path_and_rule(string field, string value, string path, string rule)
    {
        var sample = Sample("booking.scheduled");
        sample["data"]![field] = JsonNode.Parse(value);
        var error = Assert.Single(Validate(sample));
        Assert.Equal(path, error.Path);
        Assert.StartsWith(rule, error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_calendar_type_is_rejected()
    {
        var sample = Sample("booking.scheduled");
        sample["data"]!["external_calendar"]!["type"] = "yahoo";
        var error = Assert.Single(Validate(sample));
        Assert.Equal("$.data.external_calendar.type", error.Path);
    }

    [Fact]
    public void Conversation_status_and_initiator_are_checked()
    {
        var sample = Sample("conversation.started");
        sample["data"]!["status"] = "scheduled";
        sample["data"]!["initiated_by"] = "user";
        var paths = Validate(sample).Select(e => e.Path).ToList();
        Assert.Contains("$.data.status", paths);
        Assert.Contains("$.data.initiated_by", paths);
    }

    [Theory]
    [InlineData("{\"id\": ")]
    [InlineData("not json")]
    [InlineData("{} {}")]
    [InlineData("")]
    public void Unparseable_bodies_are_reported_not_thrown(string body)
    {
        var error = Assert.Single(Validator.Validate(Encoding.UTF8.GetBytes(body)));
        Assert.Equal("$", error.Path);
    }

    [Fact]
    public void Invalid_utf8_is_reported()
    {
        var error = Assert.Single(Validator.Validate(new byte[] { 0x7b, 0xff, 0xfe, 0x7d }));
        Assert.Contains("UTF-8", error.Rule, StringComparison.Ordinal);
    }
}
