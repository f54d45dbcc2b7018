using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.Events;
using OnceHub.Webhooks.Events;

namespace OnceHub.Webhooks.Tests;

public sealed class TypedEventTests
{
    public static TheoryData<string> Payloads()
    {
        var names = new TheoryData<string>();
        foreach (var type in EventCatalog.Specific)
        {
            names.Add(type.Name);
        }
        foreach (var family in new[] { EventFamily.Booking, EventFamily.Conversation })
        {
            foreach (var variant in ContractResources.ReadVariants(family))
            {
                names.Add("variant:" + variant);
            }
        }
        return names;
    }

    private static byte[] Read(string name) => name.StartsWith("variant:", StringComparison.Ordinal)
        ? ContractResources.ReadVariants(name.Contains("booking/", StringComparison.Ordinal) ? EventFamily.Booking : EventFamily.Conversation)
            .Single(v => "variant:" + v == name).Body
        : ContractResources.ReadSample(name);

    [Theory]
    [MemberData(nameof(Payloads))]
    public void Every_sample_and_variant_reads_into_its_family_records_with_the_ids_as_sent(string name)
    {
        var body = Read(name);
        var raw = JsonNode.Parse(body)!;

        var typed = OnceHubEvent.Parse(body);

        Assert.Equal((string?)raw["id"], typed.Id);
        Assert.Equal((string?)raw["type"], typed.Type);
        Assert.True(typed.Object?.IsKnown);
        if (typed.Family == "booking")
        {
            var booking = typed.Booking!;
            Assert.Null(typed.Conversation);
            Assert.Equal((string?)raw["data"]!["id"], booking.Id);
            Assert.Equal((string?)raw["data"]!["status"], booking.Status?.Value);
            Assert.Equal(IdOf(raw["data"]!["owner"]), booking.Owner?.Id);
            Assert.Equal(raw["data"]!["owner"] is JsonObject, booking.Owner?.IsExpanded ?? false);
        }
        else
        {
            var conversation = typed.Conversation!;
            Assert.Null(typed.Booking);
            Assert.Equal((string?)raw["data"]!["id"], conversation.Id);
            Assert.Equal(IdOf(raw["data"]!["contact"]), conversation.Contact?.Id);
            Assert.Equal(raw["data"]!["contact"] is JsonObject, conversation.Contact?.IsExpanded ?? false);
        }
    }

    [Fact]
    public void An_expanded_object_is_typed_and_an_id_stays_an_id()
    {
        var expanded = OnceHubEvent.Parse(ContractResources.ReadSample("conversation.started")).Conversation!;
        var ids = OnceHubEvent.Parse(ContractResources.ReadVariants(EventFamily.Conversation).Single(v => v.Name == "api-v1-ids").Body).Conversation!;

        Assert.True(expanded.Owner!.IsExpanded);
        Assert.Equal(expanded.Owner.Id, expanded.Owner.Value!.Id);
        Assert.False(string.IsNullOrEmpty(expanded.Owner.Value.FirstName));
        Assert.False(ids.Owner!.IsExpanded);
        Assert.Null(ids.Owner.Value);
        Assert.Equal(expanded.Owner.Id, ids.Owner.Id);
    }

    [Fact]
    public void A_value_OnceHub_adds_later_and_fields_the_schemas_do_not_name_survive()
    {
        var raw = JsonNode.Parse(ContractResources.ReadSample("booking.scheduled"))!;
        raw["data"]!["status"] = "tentative";
        raw["data"]!["loyalty_tier"] = new JsonObject { ["level"] = 3 };
        raw["delivered_by"] = "edge-7";

        var typed = OnceHubEvent.Parse(Encoding.UTF8.GetBytes(raw.ToJsonString()));

        var booking = typed.Booking!;
        Assert.Equal("tentative", booking.Status!.Value.Value);
        Assert.False(booking.Status.Value.IsKnown);
        Assert.NotEqual(BookingStatus.Scheduled, booking.Status);
        Assert.Equal("{\"level\":3}", booking.AdditionalProperties!["loyalty_tier"].GetRawText());
        Assert.Equal("edge-7", typed.AdditionalProperties!["delivered_by"].GetString());
        Assert.Equal(BookingStatus.Scheduled, OnceHubEvent.Parse(ContractResources.ReadSample("booking.scheduled")).Booking!.Status);
    }

    [Fact]
    public void An_event_of_a_family_the_records_do_not_know_keeps_its_data_as_json()
    {
        var typed = OnceHubEvent.Parse("""{"id":"EVNT-NEW1","object":"event","type":"invoice.paid","data":{"object":"invoice","total":12}}"""u8);

        Assert.Equal("invoice", typed.Family);
        Assert.Null(typed.Booking);
        Assert.Null(typed.Conversation);
        Assert.Equal(12, typed.Data!.Value.GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task A_handler_reads_the_typed_event_of_a_delivery()
    {
        const string secret = "typed-handler-secret";
        BookingStatus? seen = null;
        await using var host = await LibraryHost.StartAsync(new Dictionary<string, string?> { ["ONCEHUB_WEBHOOK_SECRET"] = secret, ["OnceHub:Webhooks:Store"] = "InMemory" },
            h => h.On("booking.canceled", (e, _) =>
            {
                seen = e.ReadEvent().Booking!.Status;
                return Task.CompletedTask;
            }));

        var answer = await EndpointTests.PostAsync(host.Url, ContractSuite.WithNewEventId(ContractResources.ReadSample("booking.canceled")), secret);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(BookingStatus.Canceled, seen);
    }

    private static string? IdOf(JsonNode? node) => node switch
    {
        JsonObject o => (string?)o["id"],
        JsonValue v when v.GetValueKind() == JsonValueKind.String => (string?)v,
        _ => null,
    };
}
