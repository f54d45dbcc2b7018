namespace OnceHub.Account;

/// <summary>Settings shared by both stores.</summary>
public sealed record AccountStoreOptions
{
    /// <summary>Let <c>http://</c> receiver URLs on 127.0.0.1, localhost or [::1] through (off, as OnceHub).</summary>
    public bool AllowInsecureUrls { get; init; }

    /// <summary>Clock for creation times.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>File store only: how long to wait for another writer to release the account.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A OnceHub account's webhooks. Expected refusals come back as <see cref="ApiError"/>; only a broken
/// store (unreadable file, lock not obtained) throws <see cref="AccountStoreException"/>.
/// </summary>
public interface IAccountStore
{
    AccountStoreOptions Options { get; }

    AccountResult<StoredWebhook> Create(string? name, string? url, IEnumerable<string?>? events);

    AccountResult<StoredWebhook> Get(string id);

    AccountResult<WebhookPage> List(ListQuery query);

    /// <summary>Removes a webhook and returns it as it was.</summary>
    AccountResult<StoredWebhook> Delete(string id);

    /// <summary>Every webhook, in creation order.</summary>
    IReadOnlyList<StoredWebhook> Snapshot();
}

/// <summary>The store is broken (not an API refusal): the message says which file and why.</summary>
public sealed class AccountStoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The operations, written once over a transaction primitive each store provides.</summary>
public abstract class AccountStore(AccountStoreOptions? options) : IAccountStore
{
    public AccountStoreOptions Options { get; } = options ?? new AccountStoreOptions();

    /// <summary>Runs <paramref name="operation"/> on the current state, alone; persists it when it reports a change.</summary>
    protected abstract T Transact<T>(Func<List<StoredWebhook>, (T Result, bool Changed)> operation);

    /// <summary>Runs <paramref name="read"/> on a consistent state; a store may do it without the writers' lock.</summary>
    protected virtual T Query<T>(Func<List<StoredWebhook>, T> read) => Transact(webhooks => (read(webhooks), false));

    public AccountResult<StoredWebhook> Create(string? name, string? url, IEnumerable<string?>? events)
    {
        var (valid, refusal) = WebhookRules.CheckCreate(name, url, events, Options.AllowInsecureUrls);
        if (valid is null)
        {
            return ApiError.Refused(refusal!);
        }

        return Transact(webhooks =>
        {
            // Names are unique per account, compared exactly (ordinal).
            if (webhooks.Any(w => string.Equals(w.Name, valid.Name, StringComparison.Ordinal)))
            {
                return (ApiError.NameTaken(valid.Name), false);
            }

            var id = WebhookRules.NewId();
            while (webhooks.Any(w => w.Id == id))
            {
                id = WebhookRules.NewId();
            }

            var created = new StoredWebhook(
                id, valid.Name, valid.Url, valid.Events, WebhookRules.ApiVersion,
                Options.TimeProvider.GetUtcNow(), WebhookRules.NewSecret());
            webhooks.Add(created);
            return (AccountResult<StoredWebhook>.Ok(created), true);
        });
    }

    public AccountResult<StoredWebhook> Get(string id) =>
        Query(webhooks => Find(webhooks, id) is { } found
            ? AccountResult<StoredWebhook>.Ok(found)
            : ApiError.NotFound(id));

    public AccountResult<WebhookPage> List(ListQuery query) =>
        Query(webhooks => WebhookRules.Page(webhooks, query));

    public AccountResult<StoredWebhook> Delete(string id) =>
        Transact(webhooks =>
        {
            if (Find(webhooks, id) is not { } found)
            {
                return (ApiError.NotFound(id), false);
            }

            webhooks.Remove(found);
            return (AccountResult<StoredWebhook>.Ok(found), true);
        });

    public IReadOnlyList<StoredWebhook> Snapshot() => Query(webhooks => (IReadOnlyList<StoredWebhook>)[.. webhooks]);

    private static StoredWebhook? Find(List<StoredWebhook> webhooks, string id) =>
        webhooks.Find(w => string.Equals(w.Id, id, StringComparison.Ordinal));
}

/// <summary>An account held in memory: the emulator's default.</summary>
public sealed class InMemoryAccountStore(AccountStoreOptions? options = null) : AccountStore(options)
{
    private readonly List<StoredWebhook> _webhooks = [];
    private readonly Lock _gate = new();

    protected override T Transact<T>(Func<List<StoredWebhook>, (T Result, bool Changed)> operation)
    {
        lock (_gate)
        {
            return operation(_webhooks).Result;
        }
    }
}
