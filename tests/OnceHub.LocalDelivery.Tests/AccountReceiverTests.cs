using System.Net;
using OnceHub.Contracts.Receiver;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>The reference receiver serving a local account's webhooks: each URL path with that webhook's own secret.</summary>
public class AccountReceiverTests
{
    [Fact]
    public async Task The_receiver_answers_each_webhook_path_of_the_account_with_that_webhooks_secret()
    {
        var port = LoopbackPort.Free();
        using var account = new TempAccount();
        // The dev stack's shape: <receiverUrl>/bookings and <receiverUrl>/conversations.
        var bookings = account.Add("bookings", $"http://127.0.0.1:{port}/webhooks/oncehub/bookings", "booking");
        var conversations = account.Add("conversations", $"http://127.0.0.1:{port}/webhooks/oncehub/conversations", "conversation");
        account.Add("elsewhere", "https://hooks.example.com/x", "booking");

        var served = AccountEndpoints.Resolve("file:" + account.Folder, 0);

        Assert.Equal(port, served.Port);
        Assert.Equal(["/webhooks/oncehub/bookings", "/webhooks/oncehub/conversations"], served.Endpoints.Select(e => e.Path));
        Assert.Equal([bookings.Secret], served.Endpoints[0].Secrets);
        Assert.Equal([conversations.Secret], served.Endpoints[1].Secrets);

        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Endpoints = served.Endpoints, Port = served.Port });
        using var deliverer = account.Deliverer(new LocalDeliveryOptions { Time = DeliveryTime.Virtual(), AttemptTimeout = TimeSpan.FromSeconds(5) });
        var scheduled = await deliverer.TriggerAsync("booking.scheduled", []);
        var started = await deliverer.TriggerAsync("conversation.started", []);

        Assert.Equal(WebhookOutcomeKind.Delivered, scheduled.Webhooks.Single(w => w.WebhookId == bookings.Id).Kind);
        Assert.Equal(WebhookOutcomeKind.Delivered, Assert.Single(started.Webhooks).Kind);
        Assert.Equal(2, receiver.ProcessedCount);
        Assert.Equal(0, receiver.Count(ReceiveOutcome.Refused));

        // A path's secret is its own webhook's: the bookings secret is refused at the conversations path.
        using var http = new HttpClient();
        var body = "{\"id\":\"EVNT-X1\",\"type\":\"conversation.started\"}"u8.ToArray();
        var signed = new OnceHub.Webhooks.WebhookSigner(bookings.Secret).CreateHeader(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/webhooks/oncehub/conversations")
        {
            Content = new ByteArrayContent(body),
        };
        request.Headers.TryAddWithoutValidation(OnceHub.Webhooks.WebhookSigner.HeaderName, signed);
        using var answer = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync($"http://127.0.0.1:{port}/webhooks/oncehub", new ByteArrayContent(body))).StatusCode);
    }

    [Fact]
    public void An_account_that_names_no_single_local_port_or_no_account_is_refused_with_the_reason()
    {
        using var account = new TempAccount();
        account.Add("a", "http://127.0.0.1:5080/a", "booking");
        account.Add("b", "http://127.0.0.1:5081/b", "booking");

        Assert.Contains("choose one with --port", Assert.Throws<ArgumentException>(() => AccountEndpoints.Resolve("file:" + account.Folder, 0)).Message, StringComparison.Ordinal);
        Assert.Equal("/b", Assert.Single(AccountEndpoints.Resolve("file:" + account.Folder, 5081).Endpoints).Path);
        Assert.Contains("no webhook", Assert.Throws<ArgumentException>(() => AccountEndpoints.Resolve("file:" + account.Folder, 6000)).Message, StringComparison.Ordinal);
        var empty = Directory.CreateTempSubdirectory("oncehub-none-").FullName;
        Assert.Contains("no local OnceHub account", Assert.Throws<ArgumentException>(() => AccountEndpoints.Resolve("file:" + empty, 0)).Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(empty, "account.json")));
        Directory.Delete(empty);
        Assert.Throws<ArgumentException>(() => AccountEndpoints.Resolve("https://api.oncehub.com", 0));
    }
}
