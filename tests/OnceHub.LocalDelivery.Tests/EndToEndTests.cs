using System.Net;
using System.Net.Sockets;
using OnceHub.Contracts;
using OnceHub.Contracts.Cli;
using OnceHub.Contracts.Receiver;
using OnceHub.TestSupport;
using OnceHub.Webhooks;
using Pulumirpc;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>
/// The two halves meeting: the provider plugin (over gRPC, as the engine drives it) creates the webhooks in a
/// local account, and the account delivers to reference receivers that know only the secrets Create returned.
/// </summary>
public class EndToEndTests
{
    [Fact]
    public async Task Webhooks_created_by_the_provider_get_their_events_signed_with_the_secret_create_returned()
    {
        var folder = Directory.CreateTempSubdirectory("oncehub-e2e-").FullName;
        try
        {
            // Create needs each receiver's URL before the receiver can start with the secret Create returns, so
            // each receiver's port is chosen first and the receiver started on it afterwards.
            var bookingsPort = FreePort();
            var conversationsPort = FreePort();
            string bookingsId, bookingsSecret, conversationsId, conversationsSecret;
            await using (var session = await ProviderSession.StartAsync())
            {
                await session.ConfigureAsync("file:" + folder, allowInsecureUrls: true);
                (bookingsId, bookingsSecret) = await CreateAsync(session, "bookings", bookingsPort, "booking");
                (conversationsId, conversationsSecret) = await CreateAsync(session, "conversations", conversationsPort, "conversation");
            }
            Assert.NotEqual(bookingsSecret, conversationsSecret);

            var conversationFailures = 0;
            await using var bookings = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [bookingsSecret], Port = bookingsPort });
            var firstConversations = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = [conversationsSecret], Port = conversationsPort });

            // trigger, through the CLI's root as a developer runs it
            using var output = new StringWriter();
            using var error = new StringWriter();
            var exit = await new CliApp(output, error).RunAsync(
                ["trigger", "booking.scheduled", "--account", "file:" + folder, "--virtual-time", "--follow"]);
            Assert.True(exit == 0, error.ToString());
            Assert.Contains($"{bookingsId}  bookings", output.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(conversationsId, output.ToString(), StringComparison.Ordinal);
            // Processed means the signature checked out against the bookings webhook's own secret.
            Assert.Equal(1, bookings.ProcessedCount);
            Assert.Equal(0, bookings.Count(ReceiveOutcome.Refused));
            Assert.Equal(0, bookings.DuplicateCount);
            foreach (var outcome in Enum.GetValues<ReceiveOutcome>())
            {
                Assert.Equal(0, firstConversations.Count(outcome));
            }
            await firstConversations.DisposeAsync();

            // The conversations receiver is down (nothing listens on its port) for attempt 1 of a conversation
            // event, then up but failing once (its handler throws: 500), then well: attempt 3 is processed.
            using var deliverer = LocalDeliverer.OpenFolder(folder, new LocalDeliveryOptions { Time = DeliveryTime.Virtual(), AttemptTimeout = TimeSpan.FromSeconds(5) });
            var started = await deliverer.TriggerAsync("conversation.started", []);
            Assert.Equal(conversationsId, Assert.Single(started.Webhooks).WebhookId);
            Assert.Equal(WebhookOutcomeKind.RetryScheduled, started.Webhooks[0].Kind);
            await using var conversations = await ReferenceReceiver.StartAsync(new ReceiverOptions
            {
                Secrets = [conversationsSecret],
                Port = conversationsPort,
                OnEvent = (_, _) => Interlocked.Increment(ref conversationFailures) == 1
                    ? throw new InvalidOperationException("the receiver's own store is still starting")
                    : Task.CompletedTask,
            });
            await deliverer.RunAsync(started.EventId).WaitAsync(TimeSpan.FromSeconds(60));

            var log = deliverer.Store.Log(started.EventId);
            Assert.Equal([1, 2, 3], log.Select(r => r.Attempt!.Value));
            Assert.Equal(RetrySchedule.Offsets.Take(3), log.Select(r => r.ScheduledOffset!.Value));
            Assert.Equal("accepted", log[^1].Outcome);
            Assert.Equal(1, conversations.ProcessedCount);
            Assert.Equal(0, conversations.Count(ReceiveOutcome.Refused));
            Assert.Equal(DeliveryStatus.Delivered, Assert.Single(deliverer.Store.Deliveries(started.EventId)).Status);
            Assert.Equal(2, conversationFailures);
            Assert.Equal(1, bookings.ProcessedCount);
        }
        finally
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder must not fail a test.
            }
        }
    }

    private static async Task<(string Id, string Secret)> CreateAsync(ProviderSession session, string name, int port, string events)
    {
        var check = await session.CheckAsync(name, Props.Webhook(name, $"http://127.0.0.1:{port}{ReferenceReceiver.Path}", events));
        Assert.Empty(check.Failures);
        var created = await session.Client.CreateAsync(new CreateRequest
        {
            Urn = ProviderSession.Urn(name),
            Name = name,
            Type = ProviderSession.WebhookType,
            Properties = check.Inputs,
        });
        return (created.Id, Props.Str(created.Properties, "secret"));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
