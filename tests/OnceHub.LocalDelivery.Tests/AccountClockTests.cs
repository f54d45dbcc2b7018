using Microsoft.Data.Sqlite;
using OnceHub.Contracts;
using OnceHub.Contracts.Cli;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>One clock per account: a trigger beside a delivering emulator, each its own process or store connection.</summary>
public class AccountClockTests
{
    // Slow enough that the emulator sees a delivery another process wrote well before its next attempt is due,
    // even on a busy machine, so no attempt is overdue when it is claimed.
    private const int Scale = 10;

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
            await DeliveryTests.WaitUntil(() => HeldScale(account.Folder) == Scale, 60);

            var (refusedExit, _, refused) = await Run("trigger", "booking.scheduled", "--account", folder, "--time-scale", "30");
            Assert.Equal(2, refusedExit);
            Assert.Contains($"delivers in time scaled x{Scale}", refused, StringComparison.Ordinal);
            Assert.Contains("asked for time scaled x30", refused, StringComparison.Ordinal);
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
        // Three stores on one folder, as three processes would open it.
        using var running = new DeliveryStore(account.Folder);
        using var follower = new DeliveryStore(account.Folder);
        using var other = new DeliveryStore(account.Folder);
        Assert.Equal(Scale, running.AgreeClock(DeliveryTime.Scaled(Scale), adopt: false, noon).Scale);
        // Recording the clock holds nothing (only a deliverer claiming retries does): the idle account changes hands, and back.
        Assert.Equal(1, other.AgreeClock(DeliveryTime.Real(), adopt: false, noon).Scale);
        Assert.Equal(Scale, running.AgreeClock(DeliveryTime.Scaled(Scale), adopt: false, noon).Scale);
        Assert.Empty(running.ClaimDue(noon, noon, noon.AddMinutes(1), 10, null, "running"));

        Assert.Throws<LocalDeliveryClockException>(() => other.AgreeClock(DeliveryTime.Real(), adopt: false, noon));
        Assert.Equal(Scale, follower.AgreeClock(DeliveryTime.Real(), adopt: true, noon).Scale);

        // A follower that claimed and stopped ends its own hold, not the running deliverer's.
        Assert.Empty(follower.ClaimDue(noon, noon, noon.AddMinutes(2), 10, null, "follower"));
        follower.ReleaseClock();
        Assert.Throws<LocalDeliveryClockException>(() => other.AgreeClock(DeliveryTime.Real(), adopt: false, noon));

        // Its holder stopped and nothing is pending: another clock takes the account over.
        running.ReleaseClock();
        Assert.Equal(1, other.AgreeClock(DeliveryTime.Real(), adopt: false, noon.AddSeconds(1)).Scale);
    }

    [Fact]
    public void A_process_following_the_account_is_refused_while_another_process_runs_its_virtual_clock()
    {
        using var account = new TempAccount();
        account.Add("bookings", "http://127.0.0.1:9/unused", "booking");
        var noon = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        using var running = new DeliveryStore(account.Folder);
        using var follower = new DeliveryStore(account.Folder);
        Assert.True(running.AgreeClock(DeliveryTime.Virtual(), adopt: false, noon).IsVirtual);
        Assert.Empty(running.ClaimDue(noon, noon, noon.AddMinutes(1), 10, null, "running"));

        var refused = Assert.Throws<LocalDeliveryClockException>(() => follower.AgreeClock(DeliveryTime.Real(), adopt: true, noon));
        Assert.Contains("a virtual clock cannot be shared", refused.Message, StringComparison.Ordinal);

        running.ReleaseClock();
        Assert.True(follower.AgreeClock(DeliveryTime.Real(), adopt: true, noon).IsVirtual);
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

    /// <summary>The scale of the account's clock while a deliverer holds it; null before then.</summary>
    private static double? HeldScale(string folder)
    {
        if (!File.Exists(Path.Combine(folder, DeliveryStore.FileName)))
        {
            return null;
        }
        using var connection = OpenReadOnly(folder);
        using var tables = connection.CreateCommand();
        tables.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('clock', 'clock_holds')";
        if ((long)tables.ExecuteScalar()! < 2)
        {
            return null;
        }
        using var query = connection.CreateCommand();
        query.CommandText = "SELECT scale FROM clock WHERE id = 0 AND EXISTS (SELECT 1 FROM clock_holds WHERE held_until > $now)";
        query.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return query.ExecuteScalar() is double scale ? scale : null;
    }
}
