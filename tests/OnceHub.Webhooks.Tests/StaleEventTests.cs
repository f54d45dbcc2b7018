using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OnceHub.Contracts.Payloads;

namespace OnceHub.Webhooks.Tests;

/// <summary>What the endpoint and the payload reader add to the store's stale-event contract (<see cref="EventStoreContract"/>).</summary>
public sealed class StaleEventTests
{
    [Fact]
    public async Task With_SkipStaleEvents_configured_the_endpoint_answers_a_late_booking_event_200_skipped_and_logs_it()
    {
        var handled = new List<string>();
        await using var host = await LibraryHost.StartAsync(new Dictionary<string, string?>
        {
            ["OnceHub:Webhooks:Secrets:0"] = BookingLifecycle.Secret,
            ["OnceHub:Webhooks:Store"] = "InMemory",
            ["OnceHub:Webhooks:SkipStaleEvents"] = "true",
        }, h => h.On("booking", (e, _) =>
        {
            handled.Add(e.Type);
            return Task.CompletedTask;
        }));
        var late = BookingLifecycle.Body("BKNG-HTTP1", 1);

        var canceled = await EndpointTests.PostAsync(host.Url, BookingLifecycle.Body("BKNG-HTTP1", 2), BookingLifecycle.Secret);
        var rescheduled = await EndpointTests.PostAsync(host.Url, late, BookingLifecycle.Secret);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (canceled.StatusCode, rescheduled.StatusCode));
        Assert.Equal("skipped: a later update of BKNG-HTTP1 was processed already", await rescheduled.Content.ReadAsStringAsync());
        Assert.Equal(["booking.canceled"], handled);
        var lateId = JsonDocument.Parse(late).RootElement.GetProperty("id").GetString()!;
        Assert.Equal(SettledAs.Skipped, await host.Services.GetRequiredService<IEventStore>().GetSettledAsync(lateId));
        Assert.Contains(host.Logs.Lines, l => l.Level == LogLevel.Information && l.Message.StartsWith($"Skipped stale event {lateId}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("booking.scheduled", "BKNG-", "2020-03-23T09:30:04Z")]
    [InlineData("conversation.closed", "CVR-", null)]
    public void A_booking_or_conversation_event_names_its_object_and_last_updated_time(string type, string idPrefix, string? expected)
    {
        var payload = JsonDocument.Parse(ContractResources.ReadSample(type)).RootElement;
        var data = payload.GetProperty("data");

        var update = ObjectUpdate.Read(type, payload);

        Assert.NotNull(update);
        Assert.StartsWith(idPrefix, update.ObjectId, StringComparison.Ordinal);
        Assert.Equal(data.GetProperty("id").GetString(), update.ObjectId);
        Assert.Equal(DateTimeOffset.Parse(expected ?? data.GetProperty("last_updated_time").GetString()!, System.Globalization.CultureInfo.InvariantCulture),
            update.LastUpdatedTime);
    }

    [Theory]
    [InlineData("""{"id":"EVNT-1","type":"booking.scheduled","data":{"id":"BKNG-1"}}""")]
    [InlineData("""{"id":"EVNT-1","type":"booking.scheduled","data":{"id":"BKNG-1","last_updated_time":null}}""")]
    [InlineData("""{"id":"EVNT-1","type":"booking.scheduled","data":{"id":"BKNG-1","last_updated_time":"yesterday"}}""")]
    [InlineData("""{"id":"EVNT-1","type":"booking.scheduled","data":{"id":7,"last_updated_time":"2026-01-01T00:00:00Z"}}""")]
    [InlineData("""{"id":"EVNT-1","type":"booking.scheduled","data":"BKNG-1"}""")]
    [InlineData("""{"id":"EVNT-1","type":"booking.invented","data":{"id":"BKNG-1","last_updated_time":"2026-01-01T00:00:00Z"}}""")]
    public void An_event_without_a_usable_object_id_and_time_has_no_update_and_is_never_stale(string json)
    {
        var payload = JsonDocument.Parse(json).RootElement;

        Assert.Null(ObjectUpdate.Read(payload.GetProperty("type").GetString()!, payload));
    }
}
