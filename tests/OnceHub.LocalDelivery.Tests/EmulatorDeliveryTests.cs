using System.Net;
using System.Net.Http.Json;
using OnceHub.Contracts.Cli;
using OnceHub.Emulator;
using OnceHub.Emulator.LocalDelivery;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery.Tests;

public class EmulatorDeliveryTests
{
    private const string Key = "emulator-test-key";

    [Fact]
    public async Task Trigger_through_the_emulator_signs_with_the_secret_the_API_returned_once_and_the_emulator_retries()
    {
        await using var receiver = await StandInReceiver.StartAsync(n => n == 1 ? 502 : 200);
        using var account = new TempAccount();
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions
        {
            ApiKey = Key,
            DataDirectory = account.Folder,
            AllowInsecureUrls = true,
            LocalDelivery = new EmulatorDeliverySettings { Deliver = true, Time = DeliveryTime.Virtual() },
        });
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("API-Key", Key);
        using var created = await http.PostAsJsonAsync(emulator.BaseUrl + "/webhooks",
            new { name = "bookings", url = receiver.UrlFor("/bookings"), events = new[] { "booking" } });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var secret = (await created.Content.ReadFromJsonAsync<Dictionary<string, object>>())!["secret"]!.ToString()!;

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await new CliApp(output, error).RunAsync(["trigger", "booking.scheduled", "--api", emulator.BaseUrl.ToString(), "--api-key", Key, "--follow"]);

        Assert.True(exit == 0, error.ToString());
        Assert.Contains("attempt 1: 502; attempt 2 due at +35 s", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("delivered after 2 attempt(s)", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(2, receiver.Count);
        Assert.All(receiver.Requests, r => Assert.True(new SignatureVerifier(secret).Verify(r.Signature, r.Body).IsValid));
    }

    [Fact]
    public async Task The_trigger_route_wants_the_API_key_and_a_known_event()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = Key });
        var route = new Uri(emulator.BaseUrl, LocalDeliveryRoutes.Events);
        using var anonymous = new HttpClient();
        using (var refused = await anonymous.PostAsJsonAsync(route, new { @event = "booking.scheduled" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("API-Key", Key);
        using var unknown = await http.PostAsJsonAsync(route, new { @event = "booking" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("\"param\":\"event\"", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var badSet = await http.PostAsJsonAsync(route, new { @event = "booking.scheduled", set = new[] { "data.nope=1" } });
        Assert.Equal(HttpStatusCode.BadRequest, badSet.StatusCode);
        Assert.Contains("data.nope", await badSet.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var none = await http.PostAsJsonAsync(route, new { @event = "booking.scheduled" });
        Assert.Equal(HttpStatusCode.OK, none.StatusCode);
        Assert.Contains("\"webhooks\":[]", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
