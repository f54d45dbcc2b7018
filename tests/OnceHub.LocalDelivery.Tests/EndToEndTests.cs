using OnceHub.Contracts;
using OnceHub.Contracts.Cli;
using OnceHub.Contracts.Receiver;
using OnceHub.TestSupport;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>
/// The two halves meeting: the provider plugin (over gRPC, as the engine drives it) creates the webhooks in a
/// local account, and the account delivers to reference receivers that know only the secrets Create returned.
/// </summary>
public class EndToEndTests
{
    [Fact]
    public async Task Webhooks_created_by_the_provider_get_their_events_signed_with_the_secret_create_returned_and_are_disabled_after_a_whole_failed_window()
    {
        var folder = Directory.CreateTempSubdirectory("oncehub-e2e-").FullName;
        try
        {
            // Create needs each receiver's URL before the receiver can start with the secret Create returns, so
            // each receiver's port is chosen first and the receiver started on it afterwards.
            var bookingsPort = LoopbackPort.Free();
            var conversationsPort = LoopbackPort.Free();
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

            // The bookings receiver goes down for the whole window (nothing listens on its port): every attempt of
            // the schedule fails, the webhook is disabled as OnceHub disables it, and a later event is not sent to it.
            await bookings.DisposeAsync();
            var canceled = await deliverer.TriggerAsync("booking.canceled", []);
            Assert.Equal(bookingsId, Assert.Single(canceled.Webhooks).WebhookId);
            await deliverer.RunAsync(canceled.EventId).WaitAsync(TimeSpan.FromSeconds(120));
            var window = deliverer.Store.Log(canceled.EventId);
            Assert.Equal(Enumerable.Range(1, RetrySchedule.AttemptCount), window.Select(r => r.Attempt!.Value));
            Assert.Equal(RetrySchedule.Offsets, window.Select(r => r.ScheduledOffset!.Value));
            Assert.DoesNotContain(window, r => r.Outcome == "accepted");
            Assert.Equal(DeliveryStatus.Failed, Assert.Single(deliverer.Store.Deliveries(canceled.EventId)).Status);
            Assert.True(deliverer.Store.Disabled().ContainsKey(bookingsId));
            var later = await deliverer.TriggerAsync("booking.rescheduled", []);
            Assert.Equal((bookingsId, WebhookOutcomeKind.SkippedDisabled), (Assert.Single(later.Webhooks).WebhookId, later.Webhooks[0].Kind));
            // Nothing sent: the log holds only why.
            Assert.Equal(("dropped", null), (Assert.Single(deliverer.Store.Log(later.EventId)).Outcome, deliverer.Store.Log(later.EventId)[0].HttpStatus));
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
        var created = await session.CreateWebhookAsync(name, $"http://127.0.0.1:{port}{ReferenceReceiver.Path}", events);
        return (created.Id, Props.Str(created.Properties, "secret"));
    }
}
