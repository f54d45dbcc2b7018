using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Events;

namespace OnceHub.Webhooks.Tests;

public class SchemaTests
{
    private static readonly PayloadValidator Validator = PayloadValidator.Default;

    public static TheoryData<string> SpecificEvents() => [.. EventCatalog.Specific.Select(e => e.Name)];

    public static TheoryData<string> Variants() =>
        [.. Enum.GetValues<EventFamily>().SelectMany(ContractResources.ReadVariants).Select(v => v.ToString())];

    private static JsonObject Sample(string name) => JsonNode.Parse(ContractResources.ReadSample(name))!.AsObject();

    private static PayloadVariant Variant(string name) =>
        Enum.GetValues<EventFamily>().SelectMany(ContractResources.ReadVariants).Single(v => v.ToString() == name);

    private static PayloadReport Check(JsonNode node) => Validator.Check(node.ToJsonString());

    private static IReadOnlyList<PayloadError> Validate(JsonNode node) => Check(node).Errors;

    // Sets a value at a dot path such as "data.form_submission.custom_fields.0.value".
    private static JsonObject With(JsonObject payload, string path, string json)
    {
        var parts = path.Split('.');
        JsonNode parent = payload;
        foreach (var part in parts[..^1])
        {
            parent = int.TryParse(part, out var index) ? parent[index]! : parent[part]!;
        }
        var value = JsonNode.Parse(json);
        if (int.TryParse(parts[^1], out var last))
        {
            parent[last] = value;
        }
        else
        {
            parent[parts[^1]] = value;
        }
        return payload;
    }

    [Theory]
    [MemberData(nameof(SpecificEvents))]
    public void Every_sample_is_valid_without_warnings_and_consistent_with_the_catalog(string name)
    {
        var report = Validator.Check(ContractResources.ReadSample(name));
        Assert.Empty(report.Errors);
        AssertOnlyReferenceWarnings(report, name);
        var sample = Sample(name);
        EventCatalog.TryGet(name, out var eventType);
        Assert.Equal(name, (string?)sample["type"]);
        Assert.Equal(eventType.Family.WireName(), (string?)sample["data"]!["object"]);
        Assert.Equal(eventType.DataStatus, (string?)sample["data"]!["status"]);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Every_variant_is_valid_for_every_event_of_its_family(string name)
    {
        var variant = Variant(name);
        Assert.Empty(Validator.Check(variant.Body).Errors);
        foreach (var e in EventCatalog.Specific.Where(e => e.Family == variant.Family))
        {
            var payload = JsonNode.Parse(variant.Body)!.AsObject();
            payload["type"] = e.Name;
            var report = Check(payload);
            Assert.Empty(report.Errors);
            AssertOnlyReferenceWarnings(report, e.Name);
        }
    }

    [Fact]
    public void Each_family_has_the_documented_variants()
    {
        Assert.Equal(["api-v1-ids", "booking-calendar", "booking-page-expanded", "every-nullable-field-null"],
            ContractResources.ReadVariants(EventFamily.Booking).Select(v => v.Name));
        Assert.Equal(["api-v1-ids", "audience-expanded-no-owner", "every-nullable-field-null"],
            ContractResources.ReadVariants(EventFamily.Conversation).Select(v => v.Name));

        var calendar = JsonNode.Parse(Variant("booking/booking-calendar").Body)!["data"]!;
        Assert.Null(calendar["booking_page"]);
        foreach (var field in new[] { "ics_url", "booking_calendar", "cancel_url", "reschedule_url", "payment_information", "attendees", "custom_fields" })
        {
            Assert.NotNull(calendar[field]);
        }
        var expanded = JsonNode.Parse(Variant("booking/booking-page-expanded").Body)!["data"]!;
        foreach (var field in new[] { "owner", "booking_page", "master_page", "event_type", "conversation" })
        {
            Assert.IsType<JsonObject>(expanded[field]);
        }
        foreach (var name in new[] { "booking/api-v1-ids", "conversation/api-v1-ids" })
        {
            var v1 = JsonNode.Parse(Variant(name).Body)!;
            Assert.Equal("v1", (string?)v1["api_version"]);
            Assert.IsType<string>((string?)v1["data"]!["owner"]);
        }
        foreach (var name in new[] { "booking/every-nullable-field-null", "conversation/every-nullable-field-null" })
        {
            // The FAQ lets any data field but object and id be null; the reference's envelope is strings throughout.
            var payload = JsonNode.Parse(Variant(name).Body)!.AsObject();
            Assert.All(payload.Where(p => p.Key != "data"), p => Assert.Equal(JsonValueKind.String, p.Value?.GetValueKind()));
            var data = payload["data"]!.AsObject();
            Assert.All(data.Where(p => p.Key is not ("object" or "id")), p => Assert.Null(p.Value));
            Assert.True(data.Count > 10);
        }
    }

    [Theory]
    [MemberData(nameof(SpecificEvents))]
    public void Samples_are_in_the_shape_webhooks_send(string name)
    {
        var sample = Sample(name);
        Assert.Equal("v2", (string?)sample["api_version"]);
        var data = sample["data"]!;
        if (data["object"]!.GetValue<string>() == "conversation")
        {
            // In webhooks a conversation's contact, owner, bot and website are always expanded.
            foreach (var field in new[] { "contact", "owner", "bot", "website" })
            {
                Assert.IsType<JsonObject>(data[field]);
            }
        }
        else
        {
            Assert.True(data.AsObject().ContainsKey("conversation"));
        }
    }

    [Fact]
    public void Samples_and_variants_have_distinct_event_ids()
    {
        var ids = EventCatalog.Specific.Select(e => (string?)Sample(e.Name)["id"])
            .Concat(Enum.GetValues<EventFamily>().SelectMany(ContractResources.ReadVariants).Select(v => (string?)JsonNode.Parse(v.Body)!["id"]))
            .ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void The_type_is_not_a_closed_list_in_the_schema()
    {
        Assert.Empty(Validator.EventSchema.Properties["type"].Enumeration);
        Assert.Null(JsonNode.Parse(ContractResources.ReadSchema("event.schema.json"))!["properties"]!["type"]!["enum"]);
    }

    [Theory]
    [InlineData("booking.created", "booking")]
    [InlineData("booking.reassigned_twice", "booking")]
    [InlineData("conversation.transferred", "conversation")]
    public void An_unknown_type_of_a_known_family_is_a_warning_and_its_data_is_still_checked(string type, string family)
    {
        var sample = Sample(family == "booking" ? "booking.scheduled" : "conversation.started");
        sample["type"] = type;
        var report = Check(sample);
        Assert.Empty(report.Errors);
        var warning = Assert.Single(report.Warnings);
        Assert.Equal("$.type", warning.Path);
        Assert.Contains(type, warning.Rule, StringComparison.Ordinal);

        sample["data"]!["status"] = 7;
        Assert.Contains(Validate(sample), e => e.Path == "$.data.status");
    }

    /// <summary>No warning but, for an event OnceHub's current reference does not list, the one saying so.</summary>
    private static void AssertOnlyReferenceWarnings(PayloadReport report, string type)
    {
        Assert.True(EventCatalog.TryGet(type, out var eventType));
        if (eventType.InCurrentReference)
        {
            Assert.Empty(report.Warnings);
        }
        else
        {
            Assert.Equal(("$.type", $"reference: {EventCatalog.NotInCurrentReferenceNote(eventType)}"), (Assert.Single(report.Warnings).Path, report.Warnings[0].Rule));
        }
    }

    [Fact]
    public void An_unknown_type_of_an_unknown_family_is_a_warning_only()
    {
        var sample = Sample("booking.scheduled");
        sample["type"] = "invoice.paid";
        var report = Check(sample);
        Assert.Empty(report.Errors);
        Assert.Contains("invoice.paid", Assert.Single(report.Warnings).Rule, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("booking", "family")]
    [InlineData("conversation", "family")]
    [InlineData("", "minLength")]
    public void A_composite_name_or_an_empty_type_is_an_error(string type, string rule)
    {
        var sample = Sample(type == "conversation" ? "conversation.closed" : "booking.scheduled");
        sample["type"] = type;
        var error = Assert.Single(Validate(sample), e => e.Path == "$.type");
        Assert.StartsWith(rule, error.Rule, StringComparison.Ordinal);
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
    [InlineData("id")]
    [InlineData("object")]
    [InlineData("creation_time")]
    [InlineData("type")]
    [InlineData("data")]
    public void Envelope_identity_fields_may_not_be_null(string field)
    {
        var sample = Sample("conversation.closed");
        sample[field] = null;
        Assert.Contains(Validate(sample), e => e.Path == "$." + field);
    }

    [Theory]
    [InlineData("EVNT-X\n")]
    [InlineData("EVNT-")]
    [InlineData("EVNT-AB CD")]
    [InlineData("evnt-ABCD")]
    [InlineData("EVNT-ABC\u00c9")]
    public void Event_ids_are_matched_as_a_whole_string(string id)
    {
        var sample = Sample("booking.scheduled");
        sample["id"] = id;
        Assert.Single(Validate(sample), e => e.Path == "$.id");
        Assert.False(EventIds.IsUsable(id));
    }

    [Fact]
    public void New_event_ids_are_usable_valid_and_distinct()
    {
        var ids = Enumerable.Range(0, 100).Select(_ => EventIds.NewId()).ToList();
        Assert.All(ids, id => Assert.True(EventIds.IsUsable(id), id));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        var sample = Sample("booking.scheduled");
        sample["id"] = ids[0];
        Assert.Empty(Validate(sample));
    }

    [Fact]
    public void Event_ids_have_a_length_limit()
    {
        var sample = Sample("booking.scheduled");
        sample["id"] = "EVNT-" + new string('A', EventIds.MaxSuffixLength);
        Assert.Empty(Validate(sample));
        Assert.True(EventIds.IsUsable((string?)sample["id"]));
        sample["id"] = "EVNT-" + new string('A', EventIds.MaxSuffixLength + 1);
        Assert.Single(Validate(sample), e => e.Path == "$.id");
        Assert.False(EventIds.IsUsable((string?)sample["id"]));
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

    [Theory]
    [InlineData("data.subject")]
    [InlineData("data.tracking_id")]
    [InlineData("data.customer_timezone")]
    [InlineData("data.event_type")]
    [InlineData("data.booking_page")]
    [InlineData("data.external_calendar.type")]
    [InlineData("data.cancel_reschedule_information.actioned_by")]
    [InlineData("data.status")]
    [InlineData("data.owner")]
    [InlineData("data.form_submission")]
    public void Fields_that_arrive_as_null_are_accepted(string path)
    {
        Assert.Empty(Validate(With(Sample("booking.canceled"), path, "null")));
    }

    [Fact]
    public void The_envelopes_api_version_is_a_string_as_the_reference_requires()
    {
        Assert.Contains(Validate(With(Sample("booking.canceled"), "api_version", "null")), e => e.Path == "$.api_version");
    }

    [Theory]
    [InlineData("data.form_submission.custom_fields.0.value", "42")]
    [InlineData("data.form_submission.custom_fields.0.value", "{\"city\":\"Oslo\"}")]
    [InlineData("data.form_submission.custom_fields.0.value", "[\"a\",1]")]
    [InlineData("data.form_submission.custom_fields.0.value", "true")]
    [InlineData("data.form_submission.custom_fields.0.value", "null")]
    [InlineData("data.custom_fields", "[{\"name\":\"seats\",\"value\":3.5}]")]
    public void Custom_field_values_have_no_documented_type(string path, string value)
    {
        Assert.Empty(Validate(With(Sample("booking.scheduled"), path, value)));
    }

    public static TheoryData<string, string> AcceptedVariations() => new()
    {
        { "data.owner", """{"object":"user","id":"USR-X1","first_name":"Ann","last_name":null}""" },
        { "data.owner", "\"USR-X1\"" },
        { "data.booking_page", """{"object":"booking_page","id":"BP-X1"}""" },
        { "data.master_page", """{"object":"master_page","id":"MP-X1","active":true}""" },
        { "data.master_page", "\"MP-X1\"" },
        { "data.event_type", """{"object":"event_type","id":"ET-X1","description":""}""" },
        { "data.conversation", "\"CVR-X1\"" },
        { "data.conversation", """{"object":"conversation","id":"CVR-X1","status":"closed"}""" },
        { "data.external_calendar.type", "\"none\"" },
        { "data.external_calendar.type", "\"icloud\"" },
        { "data.cancel_reschedule_information", """{"reason":"","actioned_by":"","user_id":""}""" },
        { "data.form_submission.company", "\"\"" },
        { "data.form_submission.phone", "\"\"" },
        { "data.unknown_new_field", "{\"anything\":[1]}" },
        { "data.virtual_conferencing.new_field", "1" },
        { "unknown_envelope_field", "true" },
    };

    [Theory]
    [MemberData(nameof(AcceptedVariations))]
    public void Documented_variations_and_new_fields_are_accepted(string path, string value)
    {
        Assert.Empty(Validate(With(Sample("booking.scheduled"), path, value)));
    }

    /// <summary>One wrong value per documented field type, so the schemas are not just "anything nullable".</summary>
    public static TheoryData<string, string, string, string, string> WrongTypes() => new()
    {
        // sample, path set, value, reported path, rule
        { "booking.scheduled", "data.subject", "5", "$.data.subject", "type" },
        { "booking.scheduled", "data.duration_minutes", "\"sixty\"", "$.data.duration_minutes", "type" },
        { "booking.scheduled", "data.duration_minutes", "1.5", "$.data.duration_minutes", "type" },
        { "booking.scheduled", "data.in_trash", "\"no\"", "$.data.in_trash", "type" },
        { "booking.scheduled", "data.starting_time", "\"tomorrow\"", "$.data.starting_time", "format" },
        { "booking.scheduled", "data.status", "\"pending\"", "$.data.status", "enum" },
        { "booking.scheduled", "data.external_calendar.type", "\"yahoo\"", "$.data.external_calendar.type", "enum" },
        { "booking.scheduled", "data.cancel_reschedule_information", "{\"actioned_by\":\"robot\"}", "$.data.cancel_reschedule_information.actioned_by", "enum" },
        { "booking.scheduled", "data.attendees", "\"pat@example.org\"", "$.data.attendees", "type" },
        { "booking.scheduled", "data.attendees", "[5]", "$.data.attendees[0]", "type" },
        { "booking.scheduled", "data.virtual_conferencing", "5", "$.data.virtual_conferencing", "type" },
        { "booking.scheduled", "data.form_submission.guests", "[{}]", "$.data.form_submission.guests[0]", "type" },
        { "booking.scheduled", "data.owner", "42", "$.data.owner", "anyOf" },
        { "booking.scheduled", "data.owner", "{\"first_name\":5}", "$.data.owner", "anyOf" },
        { "booking.scheduled", "data.booking_page", "true", "$.data.booking_page", "anyOf" },
        { "booking.scheduled", "data.conversation", "[1]", "$.data.conversation", "anyOf" },
        { "booking.scheduled", "data.payment_information", "{\"amount_charged\":\"50\"}", "$.data.payment_information.amount_charged", "type" },
        { "booking.scheduled", "data.id", "\"BKNG-X\\n\"", "$.data.id", "pattern" },
        { "conversation.started", "data.initiated_by", "\"user\"", "$.data.initiated_by", "enum" },
        { "conversation.started", "data.answers.0.value", "5", "$.data.answers[0].value", "type" },
        { "conversation.started", "data.bookings", "[5]", "$.data.bookings[0]", "type" },
        { "conversation.started", "data.contact", "{\"employees\":\"many\"}", "$.data.contact", "anyOf" },
        { "conversation.started", "data.owner", "{\"status\":\"gone\"}", "$.data.owner", "anyOf" },
        { "conversation.started", "data.last_interacted_time", "\"yesterday\"", "$.data.last_interacted_time", "format" },
        { "conversation.started", "creation_time", "\"at noon\"", "$.creation_time", "format" },
        { "conversation.started", "object", "\"events\"", "$.object", "enum" },
    };

    [Theory]
    [MemberData(nameof(WrongTypes))]
    public void A_field_of_the_wrong_type_is_rejected_with_path_and_rule(string sample, string path, string value, string reported, string rule)
    {
        var error = Assert.Single(Validate(With(Sample(sample), path, value)));
        Assert.Equal(reported, error.Path);
        Assert.StartsWith(rule, error.Rule, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"id\": ")]
    [InlineData("not json")]
    [InlineData("{} {}")]
    [InlineData("")]
    [InlineData("{\"id\": \"EVNT-A1\", // a comment\n \"object\": \"event\"}")]
    [InlineData("{\"id\": \"EVNT-A1\",}")]
    public void Bodies_that_are_not_strict_json_are_reported_not_thrown(string body)
    {
        var error = Assert.Single(Validator.Validate(Encoding.UTF8.GetBytes(body)));
        Assert.Equal("$", error.Path);
        Assert.Contains("not valid JSON", error.Rule, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_is_reported()
    {
        var error = Assert.Single(Validator.Validate(new byte[] { 0x7b, 0xff, 0xfe, 0x7d }));
        Assert.Contains("UTF-8", error.Rule, StringComparison.Ordinal);
    }
}
