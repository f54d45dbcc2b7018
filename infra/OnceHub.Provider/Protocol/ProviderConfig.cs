using Google.Protobuf.WellKnownTypes;
using OnceHub.Api;

namespace OnceHub.Provider.Protocol;

/// <summary>One invalid input: the property at fault and a sentence saying which rule it broke.</summary>
public sealed record Failure(string Property, string Reason);

/// <summary>The provider's configuration once checked. Never prints the API key.</summary>
/// <param name="ApiUrl">An http(s) base URL, or an absolute <c>file:</c> URI of a local account folder.</param>
/// <param name="ApiKey">Null only for a <c>file:</c> account, which needs none.</param>
/// <param name="AllowInsecureUrls">Let webhook urls use plain http on a loopback address.</param>
public sealed record ProviderSettings(Uri ApiUrl, string? ApiKey, bool AllowInsecureUrls)
{
    public bool IsLocalAccount => ApiUrl.IsFile;

    public override string ToString() =>
        $"ProviderSettings {{ ApiUrl = {ApiUrl}, ApiKey = {(ApiKey is null ? "(none)" : "***")}, AllowInsecureUrls = {AllowInsecureUrls} }}";
}

/// <summary>Parses and checks the <c>oncehub</c> configuration, from a Struct or from engine variables.</summary>
public static class ProviderConfig
{
    public const string Package = "oncehub";
    public const string ApiKey = "apiKey";
    public const string ApiUrl = "apiUrl";
    public const string AllowInsecureUrls = "allowInsecureUrls";
    public const string ApiKeyEnvironmentVariable = OnceHub.Account.ApiAuthentication.KeyVariable;

    private const string VariablePrefix = Package + ":config:";

    /// <summary>The default of a config key as text (as <c>DiffConfig</c> compares values), or null when it has none.</summary>
    public static string? DefaultText(string key) => key switch
    {
        ApiUrl => OnceHubClientOptions.DefaultBaseUrl,
        AllowInsecureUrls => "false",
        _ => null,
    };

    /// <summary>
    /// Older engines send config only as <c>oncehub:config:&lt;key&gt;</c> strings; turns them into the
    /// same Struct shape that <c>args</c> carries, so there is one parser.
    /// </summary>
    public static Struct FromVariables(IEnumerable<KeyValuePair<string, string>> variables)
    {
        var result = new Struct();
        foreach (var (key, value) in variables)
        {
            var name = key.StartsWith(VariablePrefix, StringComparison.Ordinal) ? key[VariablePrefix.Length..] : key;
            result.Fields[name] = Value.ForString(value);
        }

        return result;
    }

    /// <summary>
    /// Checks the configuration. Returns the settings, or null when a value is unknown (a preview with
    /// config computed from another resource); the failures name each bad key.
    /// </summary>
    public static (ProviderSettings? Settings, IReadOnlyList<Failure> Failures) Parse(
        Struct? config, string workingDirectory, Func<string, string?> environment)
    {
        var reader = new PropertyReader(config);
        var failures = new List<Failure>();
        var unknown = false;

        Prop<string>? apiUrl = null, apiKey = null;
        Prop<bool>? allowInsecure = null;
        Read(() => apiUrl = reader.String(ApiUrl));
        Read(() => apiKey = reader.String(ApiKey));
        Read(() => allowInsecure = reader.Bool(AllowInsecureUrls));

        Uri? url = null;
        if (apiUrl is { Known: false } || apiKey is { Known: false } || allowInsecure is { Known: false })
        {
            unknown = true;
        }
        else if (failures.Count == 0)
        {
            var text = apiUrl?.Value ?? OnceHubClientOptions.DefaultBaseUrl;
            url = ParseApiUrl(text, workingDirectory, out var urlProblem);
            if (urlProblem is not null)
            {
                failures.Add(new(ApiUrl, urlProblem));
            }
        }

        var key = apiKey?.Value;
        if (string.IsNullOrWhiteSpace(key))
        {
            key = environment(ApiKeyEnvironmentVariable);
        }

        if (apiKey is { Known: true } && apiKey.Value.Value!.Length > 0 && string.IsNullOrWhiteSpace(apiKey.Value.Value))
        {
            failures.Add(new(ApiKey, "apiKey must not be blank."));
        }
        else if (url is { IsFile: false } && string.IsNullOrWhiteSpace(key))
        {
            failures.Add(new(ApiKey,
                $"apiKey is required for an http(s) apiUrl: set it with 'pulumi config set --secret oncehub:apiKey <key>' or the {ApiKeyEnvironmentVariable} environment variable."));
        }

        if (failures.Count > 0 || unknown || url is null)
        {
            return (null, failures);
        }

        return (new ProviderSettings(url, string.IsNullOrWhiteSpace(key) ? null : key, allowInsecure?.Value ?? false), failures);

        void Read(Action read)
        {
            try
            {
                read();
            }
            catch (PropertyTypeException e)
            {
                failures.Add(new(e.Property, e.Message));
            }
        }
    }

    /// <summary>
    /// An http(s) URL (plain http only on a loopback address, as it carries the API key), or a
    /// <c>file:</c> URI; a relative file path is taken from the working directory, which the Pulumi
    /// CLI sets to the project folder.
    /// </summary>
    public static Uri? ParseApiUrl(string text, string workingDirectory, out string? problem)
    {
        problem = null;
        text = text.Trim();
        if (text.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            var rest = text["file:".Length..];
            string path;
            if (rest.StartsWith("//", StringComparison.Ordinal))
            {
                if (!Uri.TryCreate(text, UriKind.Absolute, out var fileUri) || !(fileUri.Host is "" or "localhost"))
                {
                    problem = "apiUrl must be a file: URI of a local folder, such as file:./.oncehub/dev-account or file:///var/oncehub.";
                    return null;
                }

                path = fileUri.LocalPath;
            }
            else
            {
                path = Uri.UnescapeDataString(rest);
            }

            if (path.Length == 0)
            {
                problem = "apiUrl names no folder after file:.";
                return null;
            }

            return new Uri(Path.GetFullPath(path, workingDirectory));
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0
            || !(uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            problem = "apiUrl must be an https URL (such as https://api.oncehub.com/v2) or a file: URI of a local account folder.";
            return null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback)
        {
            problem = "apiUrl must use https: plain http is accepted only for a loopback address such as a local emulator, because every request carries the API key.";
            return null;
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            problem = "apiUrl must not carry credentials: use apiKey.";
            return null;
        }

        return uri;
    }
}
