using Google.Protobuf.WellKnownTypes;
using OnceHub.Account;
using OnceHub.Contracts.Delivery;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.TestSupport;
using Pulumirpc;

namespace OnceHub.Webhooks.Tests;

/// <summary>
/// The README's procedure for changing a webhook without losing events, end to end: the provider (over gRPC,
/// in process) creates webhook B beside A in a file account; a receiver built on the library knows both
/// secrets; deliveries of one event through A and through B are both accepted and the event is handled once;
/// after A is deleted B's deliveries are still accepted; a receiver that knows only A's secret refuses B's.
/// Deliveries are signed as OnceHub signs them, each with the secret its webhook's Create returned.
/// </summary>
public sealed class RotationTests
{
    [Fact]
    public async Task Two_webhooks_side_by_side_reach_a_receiver_with_both_secrets_and_each_event_is_handled_once()
    {
        // The receiver's address is fixed before the webhooks exist, as a deployed receiver's is.
        var port = LoopbackPort.Free();
        var receiverUrl = new Uri($"http://127.0.0.1:{port}{LibraryHost.Path}");
        var account = Directory.CreateTempSubdirectory("oncehub-rotation-").FullName;
        await using var session = await ProviderSession.StartAsync();
        await session.ConfigureAsync("file:" + account, allowInsecureUrls: true);

        var a = await CreateAsync(session, "orders-a", receiverUrl);
        var b = await CreateAsync(session, "orders-b", receiverUrl);
        var stored = new FileAccountStore(account, new AccountStoreOptions()).Snapshot();
        Assert.Equal(["orders-a", "orders-b"], stored.Select(w => w.Name).Order(StringComparer.Ordinal));
        Assert.NotEqual(a.Secret, b.Secret);

        // The receiver is redeployed with both secrets (both are stack outputs), during the overlap.
        var handled = new List<string>();
        await using var both = await LibraryHost.StartAsync(new Dictionary<string, string?>
        {
            ["OnceHub:Webhooks:Store"] = "InMemory",
            ["OnceHub:Webhooks:Secrets"] = $"{a.Secret},{b.Secret}",
        }, h => h.OnAnyEvent((e, _) => Record(handled, e.Id)), port: port);
        Assert.Equal(receiverUrl, both.Url);
        using var engine = new DeliveryEngine();
        var body = ContractSuite.WithNewEventId(ContractResources.ReadSample("booking.scheduled"));
        var viaA = await engine.SendAsync(a.Url, body, new WebhookSigner(a.Secret));
        var viaB = await engine.SendAsync(b.Url, body, new WebhookSigner(b.Secret));
        Assert.Equal((200, "processed"), (viaA.StatusCode, viaA.Body));
        Assert.Equal((200, "duplicate"), (viaB.StatusCode, viaB.Body));
        Assert.Single(handled);

        // A is removed from the program and the stack updated: B alone delivers, still accepted.
        await session.Client.DeleteAsync(new DeleteRequest { Id = a.Id, Urn = ProviderSession.Urn("orders-a"), Type = ProviderSession.WebhookType, Properties = a.Properties });
        Assert.Equal(["orders-b"], new FileAccountStore(account, new AccountStoreOptions()).Snapshot().Select(w => w.Name));
        var later = ContractSuite.WithNewEventId(ContractResources.ReadSample("booking.rescheduled"));
        var afterDelete = await engine.SendAsync(b.Url, later, new WebhookSigner(b.Secret));
        Assert.Equal((200, "processed"), (afterDelete.StatusCode, afterDelete.Body));
        Assert.Equal(2, handled.Count);

        // A receiver still deployed with A's secret alone refuses B's deliveries: OnceHub would retry them.
        await using var onlyA = await LibraryHost.StartAsync(new Dictionary<string, string?>
        {
            ["OnceHub:Webhooks:Store"] = "InMemory",
            ["ONCEHUB_WEBHOOK_SECRET"] = a.Secret,
        });
        var refused = await engine.SendAsync(onlyA.Url, ContractSuite.WithNewEventId(ContractResources.ReadSample("booking.scheduled")), new WebhookSigner(b.Secret));
        Assert.Equal(401, refused.StatusCode);
        Assert.Contains("does not match the body with any configured secret", refused.Body, StringComparison.Ordinal);
    }

    private sealed record Created(string Id, Uri Url, string Secret, Struct Properties);

    private static async Task<Created> CreateAsync(ProviderSession session, string name, Uri url)
    {
        var created = await session.CreateWebhookAsync(name, url.ToString(), "booking");
        return new Created(created.Id, new Uri(Props.Str(created.Properties, "url")), Props.Str(created.Properties, "secret"), created.Properties);
    }

    private static Task Record(List<string> handled, string id)
    {
        lock (handled)
        {
            handled.Add(id);
        }
        return Task.CompletedTask;
    }
}
