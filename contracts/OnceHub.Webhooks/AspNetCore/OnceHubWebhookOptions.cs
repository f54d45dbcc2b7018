using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace OnceHub.Webhooks;

/// <summary>Where the receiver remembers event ids and keeps its quarantine.</summary>
public enum WebhookStoreKind
{
    /// <summary>A SQLite file (WAL): ids and quarantine survive restarts. The default.</summary>
    Sqlite,
    /// <summary>Process memory: for tests; a restart forgets every id, so redeliveries are handled again.</summary>
    InMemory,
    /// <summary>
    /// A PostgreSQL database shared by every replica of the receiver: the package OnceHub.Webhooks.PostgreSql and
    /// its <c>UsePostgreSql</c>, with the connection string <c>ConnectionStrings:OnceHubWebhooks</c>.
    /// </summary>
    PostgreSql,
}

/// <summary>
/// The receiver's settings. <see cref="OnceHubWebhooksServiceCollectionExtensions.AddOnceHubWebhooks"/> reads
/// them from configuration: the section <c>OnceHub:Webhooks</c> (<c>Secrets</c> as an array or a comma-separated
/// string, <c>ToleranceSeconds</c>, <c>MaxBodyBytes</c>, <c>InFlightLeaseSeconds</c>, <c>MaxHandlerFailures</c>,
/// <c>Store</c>, <c>DatabasePath</c>, <c>SqliteSynchronous</c>, <c>SettledRetentionDays</c>, <c>UnverifiedBodyBudgetBytes</c>, <c>SkipStaleEvents</c>), or else the variables <c>ONCEHUB_WEBHOOK_SECRETS</c> (comma-separated) or
/// <c>ONCEHUB_WEBHOOK_SECRET</c> (one secret).
/// </summary>
public sealed class OnceHubWebhookOptions
{
    /// <summary>The configuration section the settings are read from.</summary>
    public const string SectionName = "OnceHub:Webhooks";

    /// <summary>Comma-separated secrets, read when the section names none.</summary>
    public const string SecretsVariable = "ONCEHUB_WEBHOOK_SECRETS";

    /// <summary>One secret, read when neither the section nor <see cref="SecretsVariable"/> names any.</summary>
    public const string SecretVariable = "ONCEHUB_WEBHOOK_SECRET";

    /// <summary>The webhooks' signing secrets: one, or several while a webhook is being replaced.</summary>
    public List<string> Secrets { get; } = [];

    /// <summary>Which setting the secrets came from (for the startup log; never the values).</summary>
    public string? SecretsSource { get; set; }

    /// <summary>How far the signature's timestamp may be from this machine's clock.</summary>
    public TimeSpan Tolerance { get; set; } = SignatureVerifier.DefaultTolerance;

    /// <summary>Largest body accepted (413 above it); OnceHub payloads are a few kilobytes.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Bytes all endpoints together may hold for bodies not yet verified; see <see cref="UnverifiedBodyBudget"/>.</summary>
    public long UnverifiedBodyBudgetBytes { get; set; } = UnverifiedBodyBudget.DefaultBytes;

    /// <inheritdoc cref="WebhookPipelineOptions.InFlightLease"/>
    public TimeSpan InFlightLease { get; set; } = TimeSpan.FromMinutes(2);

    /// <inheritdoc cref="WebhookPipelineOptions.MaxHandlerFailures"/>
    public int MaxHandlerFailures { get; set; } = 5;

    /// <summary>Where event ids and the quarantine are kept; default a SQLite file.</summary>
    public WebhookStoreKind Store { get; set; } = WebhookStoreKind.Sqlite;

    /// <summary>The SQLite file, relative to the app's content root unless absolute.</summary>
    public string DatabasePath { get; set; } = "oncehub-webhooks.db";

    /// <summary>What a commit of the SQLite store survives: a killed process (the default) or also a power loss.</summary>
    public SqliteSynchronous SqliteSynchronous { get; set; } = SqliteSynchronous.Normal;

    /// <summary>
    /// How long a settled event id is remembered (a redelivery within it is a duplicate); older ones are purged in
    /// the background. Far longer than OnceHub's retry window (72 h), so a retried event is always recognised.
    /// </summary>
    public TimeSpan SettledRetention { get; set; } = TimeSpan.FromDays(30);

    /// <inheritdoc cref="WebhookPipelineOptions.SkipStaleEvents"/>
    public bool SkipStaleEvents { get; set; }

    /// <summary>The receiver's clock (for tests); default the system clock.</summary>
    public TimeProvider? Clock { get; set; }

    internal List<string> ConfigurationErrors { get; } = [];

    /// <summary>Reads the settings from <paramref name="configuration"/>; what is absent keeps its default.</summary>
    public void BindFrom(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SectionName);
        var listed = section.GetSection("Secrets");
        if (SplitSecrets(listed.Value) is { Count: > 0 } inline)
        {
            SetSecrets(inline, $"{SectionName}:Secrets");
        }
        else if (listed.GetChildren().Select(c => c.Value?.Trim()).Where(v => !string.IsNullOrEmpty(v)).ToList() is { Count: > 0 } items)
        {
            SetSecrets(items!, $"{SectionName}:Secrets");
        }
        else if (SplitSecrets(configuration[SecretsVariable]) is { Count: > 0 } many)
        {
            SetSecrets(many, SecretsVariable);
        }
        else if (configuration[SecretVariable]?.Trim() is { Length: > 0 } one)
        {
            SetSecrets([one], SecretVariable);
        }

        if (ReadNumber(section, "ToleranceSeconds", 0, 86_400) is { } tolerance)
        {
            Tolerance = TimeSpan.FromSeconds(tolerance);
        }
        if (ReadNumber(section, "MaxBodyBytes", 1, 64 * 1024 * 1024) is { } max)
        {
            MaxBodyBytes = max;
        }
        if (ReadNumber(section, "UnverifiedBodyBudgetBytes", 1, int.MaxValue) is { } budget)
        {
            UnverifiedBodyBudgetBytes = budget;
        }
        if (ReadNumber(section, "InFlightLeaseSeconds", 1, 86_400) is { } lease)
        {
            InFlightLease = TimeSpan.FromSeconds(lease);
        }
        if (ReadNumber(section, "MaxHandlerFailures", 1, 1000) is { } failures)
        {
            MaxHandlerFailures = failures;
        }
        if (ReadNumber(section, "SettledRetentionDays", 1, 36_500) is { } days)
        {
            SettledRetention = TimeSpan.FromDays(days);
        }
        if (section["Store"] is { } store)
        {
            if (Enum.TryParse<WebhookStoreKind>(store, ignoreCase: true, out var kind) && Enum.IsDefined(kind))
            {
                Store = kind;
            }
            else
            {
                ConfigurationErrors.Add($"{SectionName}:Store must be Sqlite, InMemory or PostgreSql, got '{store}'");
            }
        }
        if (section["SkipStaleEvents"] is { } skip)
        {
            if (bool.TryParse(skip, out var skipStale))
            {
                SkipStaleEvents = skipStale;
            }
            else
            {
                ConfigurationErrors.Add($"{SectionName}:SkipStaleEvents must be true or false, got '{skip}'");
            }
        }
        if (section["SqliteSynchronous"] is { } synchronous)
        {
            if (Enum.TryParse<SqliteSynchronous>(synchronous, ignoreCase: true, out var level) && Enum.IsDefined(level))
            {
                SqliteSynchronous = level;
            }
            else
            {
                ConfigurationErrors.Add($"{SectionName}:SqliteSynchronous must be Normal or Full, got '{synchronous}'");
            }
        }
        if (section["DatabasePath"] is { } path)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                ConfigurationErrors.Add($"{SectionName}:DatabasePath must not be empty");
            }
            else
            {
                DatabasePath = path;
            }
        }
    }

    private void SetSecrets(IEnumerable<string> secrets, string source)
    {
        Secrets.Clear();
        Secrets.AddRange(secrets);
        SecretsSource = source;
    }

    private static List<string>? SplitSecrets(string? value) =>
        value?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private int? ReadNumber(IConfigurationSection section, string key, int min, int max)
    {
        if (section[key] is not { } text)
        {
            return null;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }
        // The value itself is shown: these keys never hold a secret.
        ConfigurationErrors.Add($"{SectionName}:{key} must be a whole number from {min} to {max}, got '{text}'");
        return null;
    }
}

/// <summary>Refuses to start with settings that would make the receiver refuse or lose events.</summary>
internal sealed class OnceHubWebhookOptionsValidator : IValidateOptions<OnceHubWebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, OnceHubWebhookOptions options)
    {
        var errors = new List<string>(options.ConfigurationErrors);
        if (options.Secrets.Count == 0)
        {
            errors.Add($"no webhook secret is configured: set {OnceHubWebhookOptions.SectionName}:Secrets, "
                + $"{OnceHubWebhookOptions.SecretsVariable} (comma-separated) or {OnceHubWebhookOptions.SecretVariable}");
        }
        else if (options.Secrets.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{OnceHubWebhookOptions.SectionName}:Secrets must not hold an empty secret");
        }
        if (options.Tolerance < TimeSpan.Zero)
        {
            errors.Add("Tolerance must not be negative");
        }
        if (options.MaxBodyBytes < 1)
        {
            errors.Add("MaxBodyBytes must be positive");
        }
        if (options.InFlightLease <= TimeSpan.Zero)
        {
            errors.Add("InFlightLease must be positive");
        }
        if (options.UnverifiedBodyBudgetBytes <= options.MaxBodyBytes)
        {
            errors.Add($"UnverifiedBodyBudgetBytes ({options.UnverifiedBodyBudgetBytes}) must be larger than MaxBodyBytes ({options.MaxBodyBytes}), or no body of the largest size could be received");
        }
        if (options.MaxHandlerFailures < 1)
        {
            errors.Add("MaxHandlerFailures must be at least 1");
        }
        if (options.SettledRetention <= TimeSpan.Zero)
        {
            errors.Add("SettledRetention must be positive");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
