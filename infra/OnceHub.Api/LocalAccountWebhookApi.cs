using OnceHub.Account;

namespace OnceHub.Api;

/// <summary>
/// The embedded local account, used in-process: same rules and errors as the API. Like the API, reads
/// do not return the signing secret; only create does.
/// </summary>
internal sealed class LocalAccountWebhookApi(IAccountStore store) : IWebhookApi
{
    public Task<Webhook> CreateAsync(WebhookRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Run(() => ToWebhook(Unwrap(store.Create(request.Name, request.Url, request.Events)), withSecret: true), cancellationToken);
    }

    public Task<Webhook?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return Run(() =>
        {
            var found = store.Get(id);
            return found.Error is { Status: 404 } ? null : ToWebhook(Unwrap(found), withSecret: false);
        }, cancellationToken);
    }

    /// <summary>Newest first, as the API lists.</summary>
    public Task<IReadOnlyList<Webhook>> ListAsync(CancellationToken cancellationToken = default) =>
        Run(() => (IReadOnlyList<Webhook>)[.. store.Snapshot().Reverse().Select(w => ToWebhook(w, withSecret: false))], cancellationToken);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        return Run(() =>
        {
            var deleted = store.Delete(id);
            return deleted.Error is { Status: 404 } ? false : Unwrap(deleted) is not null;
        }, cancellationToken);
    }

    public void Dispose()
    {
        // Nothing held between calls: every operation opens, locks and closes the account files.
    }

    private static Task<T> Run<T>(Func<T> operation, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return Task.FromResult(operation());
        }
        catch (AccountStoreException ex)
        {
            throw new OnceHubApiException(new ApiError(500, ApiErrorTypes.Api, ex.Message), ex);
        }
    }

    private static StoredWebhook Unwrap(AccountResult<StoredWebhook> result) =>
        result.Error is { } error ? throw new OnceHubApiException(error) : result.Value!;

    private static Webhook ToWebhook(StoredWebhook w, bool withSecret) =>
        new(w.Id, w.Name, w.Url, w.Events, w.ApiVersion, w.CreationTime, withSecret ? w.Secret : null);
}
