using Microsoft.Data.Sqlite;
using OnceHub.Contracts;
using OnceHub.Contracts.Cli;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>One clock per account: a trigger beside a delivering emulator, each its own process or store connection.</summary>
public class AccountClockTests
{
    // Attempt 2 is due 1.2 s after attempt 1 and attempt 3 6 s later: far more than the emulator takes to see a
    // delivery another process wrote, so neither is overdue when it is claimed.
    private const int Scale = 30;

    [Fact]
    public async Task A_trigger_beside_a_delivering_emulator_runs_on_the_account_clock_and_another_scale_is_refused()
    {
        await using var receiver = await StandInReceiver.StartAsync(n => n <= 2 ? 503 : 200);
        using var account = new TempAccount();
        var webhook = account.Add("bookings", receiver.UrlFor("/bookings"), "booking");
        var folder = "file:" + account.Folder;
        var emulator = KillTests.StartDeliveringEmulator(account.Folder, Scale);
        try
        {
            await DeliveryTests.WaitUntil(() => RecordedScale(account.Folder) == Scale, 60);

            var (refusedExit, _, refused) = await Run("trigger", "booking.scheduled", "--account", folder, "--time-scale", "10");
            Assert.Equal(2, refusedExit);
            Assert.Contains($"delivers in time scaled x{Scale}", refused, StringComparison.Ordinal);
            Assert.Contains("asked for time scaled x10", refused, StringComparison.Ordinal);
            Assert.Contains($"use --time-scale {Scale}", refused, StringComparison.Ordinal);
            Assert.Equal(0, receiver.Count);

            // No time option: the trigger sends attempt 1 on the account's clock, and the emulator sends the retries.
            var (exit, stdout, stderr) = await Run("trigger", "booking.scheduled", "--account", folder);
            Assert.True(exit == 0, stderr);
            Assert.Contains("attempt 2 due at +35 s", stdout, StringComparison.Ordinal);
            using var store = new DeliveryStore(account.Folder);
            await DeliveryTests.WaitUntil(() => store.Deliveries().SingleOrDefault()?.Status == DeliveryStatus.Delivered, 60);

            var log = store.Log(webhookId: webhook.Id);
            Assert.Equal([1, 2, 3], log.Select(r => r.Attempt!.Value));
            var firstAt = FirstAt(account.Folder);
            for (var i = 1; i < log.Count; i++)
            {
                // Each retry went out no sooner than its offset on the account's clock, counted from the fan-out.
                Assert.True(log[i].SentAt >= firstAt + RetrySchedule.Offsets[i] / Scale,
                    $"attempt {i + 1} went out {(log[i].SentAt - firstAt).TotalMilliseconds} ms after the fan-out");
            }
        }
        finally
        {
            emulator.Kill(entireProcessTree: true);
            await emulator.WaitForExitAsync();
        }
    }

    [Fact]
    public void A_deliverer_may_move_an_idle_account_to_its_clock_once_no_other_holds_it()
    {
        using var account = new TempAccount();
        account.Add("bookings", "http://127.0.0.1:9/unused", "booking");
        var noon = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        // Two stores on one folder, as two processes would open it.
        using var running = new DeliveryStore(account.Folder);
        using var other = new DeliveryStore(account.Folder);
        Assert.Equal(Scale, running.AgreeClock(DeliveryTime.Scaled(Scale), adopt: false, noon, noon.AddMinutes(1)).Scale);

        Assert.Throws<LocalDeliveryClockException>(() => other.AgreeClock(DeliveryTime.Real(), adopt: false, noon, noon));
        Assert.Equal(Scale, other.AgreeClock(DeliveryTime.Real(), adopt: true, noon, noon).Scale);

        // Its holder stopped and nothing is pending: another clock takes the account over.
        running.ReleaseClock(noon);
        Assert.Equal(1, other.AgreeClock(DeliveryTime.Real(), adopt: false, noon.AddSeconds(1), noon.AddSeconds(1)).Scale);
    }

    private static async Task<(int Exit, string Out, string Err)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await new CliApp(output, error).RunAsync(args);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>When the account's one delivery was first tried: the offsets count from it.</summary>
    private static DateTimeOffset FirstAt(string folder)
    {
        using var connection = OpenReadOnly(folder);
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT first_at FROM deliveries";
        return DateTimeOffset.FromUnixTimeMilliseconds((long)query.ExecuteScalar()!);
    }

    private static SqliteConnection OpenReadOnly(string folder)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(folder, DeliveryStore.FileName),
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>The scale the account's delivery store records, read from its file; null before one is recorded.</summary>
    private static double? RecordedScale(string folder)
    {
        if (!File.Exists(Path.Combine(folder, DeliveryStore.FileName)))
        {
            return null;
        }
        using var connection = OpenReadOnly(folder);
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT scale FROM clock WHERE id = 0";
        try
        {
            return query.ExecuteScalar() is double scale ? scale : null;
        }
        catch (SqliteException)
        {
            // The emulator has not created its tables yet.
            return null;
        }
    }
}
