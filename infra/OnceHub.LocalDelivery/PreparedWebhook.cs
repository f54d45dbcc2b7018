using OnceHub.Account;
using OnceHub.Webhooks;

namespace OnceHub.LocalDelivery;

/// <summary>What every attempt to one webhook needs: its url parsed (null when not absolute) and its signer.</summary>
internal sealed class PreparedWebhook(StoredWebhook webhook)
{
    public Uri? Target { get; } = Uri.TryCreate(webhook.Url, UriKind.Absolute, out var url) ? url : null;

    public WebhookSigner Signer { get; } = new(webhook.Secret);
}
