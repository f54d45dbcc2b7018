using System.Net;
using OnceHub.Account;

namespace OnceHub.Contracts.Receiver;

/// <summary>One path the receiver answers and the signing secrets accepted there.</summary>
public sealed record ReceiverEndpoint(string Path, IReadOnlyList<string> Secrets);

/// <summary>What a local account asks of a receiver on this machine: the port and one endpoint per URL path.</summary>
public sealed record AccountEndpointSet(int Port, IReadOnlyList<ReceiverEndpoint> Endpoints);

/// <summary>
/// Resolves a local OnceHub account (<c>file:PATH</c>) into the endpoints the reference receiver serves for it:
/// each webhook whose URL is on this machine's loopback answered at that URL's path with that webhook's secret,
/// so the dev loop needs no copying of secrets. Webhooks sharing a path share it with all their secrets, as in
/// a rollover. The account is only read.
/// </summary>
public static class AccountEndpoints
{
    public const string Scheme = "file:";

    /// <param name="account"><c>file:PATH</c>, the folder of a local account.</param>
    /// <param name="port">The port to serve; 0 takes the one port the account's loopback webhooks use.</param>
    /// <exception cref="ArgumentException">Not a <c>file:</c> account, no account there, no webhook for this
    /// receiver, or a port that cannot be chosen; the message says which.</exception>
    public static AccountEndpointSet Resolve(string account, int port)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (!account.StartsWith(Scheme, StringComparison.Ordinal) || string.IsNullOrWhiteSpace(account[Scheme.Length..]))
        {
            throw new ArgumentException($"--account must be file:PATH, the folder of a local OnceHub account (got '{account}')");
        }
        var folder = UserPath.Resolve(account[Scheme.Length..]);
        // Opening a store on an empty folder would create an account: refuse instead, naming what is missing.
        if (!File.Exists(Path.Combine(folder, FileAccountStore.StateFileName)))
        {
            throw new ArgumentException($"no local OnceHub account at '{folder}' (it holds no {FileAccountStore.StateFileName})");
        }
        IReadOnlyList<StoredWebhook> webhooks;
        try
        {
            webhooks = new FileAccountStore(folder, new AccountStoreOptions { AllowInsecureUrls = true }).Snapshot();
        }
        catch (AccountStoreException ex)
        {
            throw new ArgumentException(ex.Message, ex);
        }
        return FromWebhooks(webhooks, port, folder);
    }

    /// <summary>The endpoints for <paramref name="webhooks"/> (see <see cref="Resolve"/>).</summary>
    public static AccountEndpointSet FromWebhooks(IEnumerable<StoredWebhook> webhooks, int port, string where)
    {
        ArgumentNullException.ThrowIfNull(webhooks);
        var local = webhooks
            .Select(w => (Webhook: w, Url: Uri.TryCreate(w.Url, UriKind.Absolute, out var u) ? u : null))
            .Where(x => x.Url is { Scheme: "http" } && IsLoopback(x.Url))
            .ToList();
        var ports = local.Select(x => x.Url!.Port).Distinct().ToList();
        if (port == 0)
        {
            if (ports.Count != 1)
            {
                throw new ArgumentException(ports.Count == 0
                    ? $"no webhook of the account at '{where}' posts to http on this machine (127.0.0.1, localhost)"
                    : $"the account's webhooks post to several local ports ({string.Join(", ", ports.Order())}): choose one with --port");
            }
            port = ports[0];
        }
        var endpoints = local
            .Where(x => x.Url!.Port == port)
            .GroupBy(x => x.Url!.AbsolutePath, StringComparer.Ordinal)
            .Select(g => new ReceiverEndpoint(g.Key, [.. g.Select(x => x.Webhook.Secret).Distinct(StringComparer.Ordinal)]))
            .OrderBy(e => e.Path, StringComparer.Ordinal)
            .ToList();
        if (endpoints.Count == 0)
        {
            throw new ArgumentException($"no webhook of the account at '{where}' posts to http://127.0.0.1:{port}");
        }
        return new AccountEndpointSet(port, endpoints);
    }

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
}
