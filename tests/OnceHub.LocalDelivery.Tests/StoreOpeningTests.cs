using Microsoft.Data.Sqlite;

namespace OnceHub.LocalDelivery.Tests;

/// <summary>Opening an account's delivery store while other processes use it: it waits for locks, and needs none once the schema is current.</summary>
public sealed class StoreOpeningTests
{
    [Fact]
    public async Task A_store_at_the_current_schema_opens_while_another_process_holds_its_write_lock()
    {
        using var account = new TempAccount();
        new DeliveryStore(account.Folder).Dispose();

        using var writer = new SqliteConnection($"Data Source={Path.Combine(account.Folder, DeliveryStore.FileName)};Pooling=False");
        writer.Open();
        using var transaction = writer.BeginTransaction(deferred: false);

        // Every emulator of the account opens the store at its start: none may queue behind another's write.
        var opening = Task.Run(() => new DeliveryStore(account.Folder));
        var first = await Task.WhenAny(opening, Task.Delay(TimeSpan.FromSeconds(20)));
        transaction.Rollback();
        Assert.Same(opening, first);
        (await opening).Dispose();
    }
}
