using OnceHub.Account;

namespace OnceHub.Emulator;

/// <summary>How to run the emulator.</summary>
public sealed record EmulatorOptions
{
    /// <summary>The only key the emulator accepts in the <c>API-Key</c> header; required, never printed.</summary>
    public string ApiKey { get; init; } = "";

    /// <summary>TCP port on 127.0.0.1; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Null keeps the account in memory; a folder makes it the file-backed local account.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Let <c>http://</c> receiver URLs on 127.0.0.1, localhost or [::1] through; off as on OnceHub.</summary>
    public bool AllowInsecureUrls { get; init; }

    /// <summary>
    /// Per-account limit: null = unlimited (the in-process default, so tests that do not ask for it
    /// are not limited); above this rate the emulator answers 429 with <c>Retry-After</c>.
    /// </summary>
    public double? RateLimitPerSecond { get; init; }

    /// <summary>
    /// Per-client-address limit: requests per <see cref="AddressLimitWindow"/>, authenticated or not;
    /// null = unlimited (the in-process default: every test shares 127.0.0.1).
    /// </summary>
    public int? AddressLimit { get; init; }

    public TimeSpan AddressLimitWindow { get; init; } = ApiLimits.AddressWindow;

    /// <summary>Added before every answer.</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Local delivery (trigger route, <c>--deliver</c>): see <c>LocalDelivery/</c>. Null: route only, no retries sent.</summary>
    public LocalDelivery.EmulatorDeliverySettings? LocalDelivery { get; init; }

    /// <summary>
    /// OnceHub's "redacted mode" for deleted resources: a <c>GET</c> or <c>DELETE</c> of a webhook this emulator
    /// deleted answers 200 <c>{id, object, deleted: true}</c> instead of 404. Off: 404, as the API reference's
    /// webhook endpoints show.
    /// </summary>
    public bool RedactDeleted { get; init; }

    /// <summary>
    /// Return the signing secret on <c>GET</c> and in lists too, as the reference's webhook object allows. Off: on
    /// create only, as OnceHub's guide tells users to copy it then.
    /// </summary>
    public bool SecretOnReads { get; init; }

    /// <summary>Also log ASP.NET Core's own lines (request start and end, routing); off: warnings only.</summary>
    public bool Verbose { get; init; }

    /// <summary>How many of the latest requests <see cref="EmulatorServer.Requests"/> keeps.</summary>
    public int RequestLogCapacity { get; init; } = 10_000;

    /// <summary>These options with OnceHub's documented limits: 5 requests/s per account, 200 per 5 minutes per address.</summary>
    public EmulatorOptions WithDocumentedLimits() => this with
    {
        RateLimitPerSecond = ApiLimits.RequestsPerSecondPerAccount,
        AddressLimit = ApiLimits.RequestsPerAddress,
        AddressLimitWindow = ApiLimits.AddressWindow,
    };

    public override string ToString() =>
        $"EmulatorOptions {{ ApiKey = ***, Port = {Port}, DataDirectory = {DataDirectory ?? "(memory)"}, AllowInsecureUrls = {AllowInsecureUrls}, "
        + $"RateLimitPerSecond = {RateLimitPerSecond?.ToString() ?? "(none)"}, AddressLimit = {(AddressLimit is { } n ? $"{n} per {AddressLimitWindow}" : "(none)")}, "
        + $"Latency = {Latency}, RedactDeleted = {RedactDeleted}, SecretOnReads = {SecretOnReads}, RequestLogCapacity = {RequestLogCapacity}, Verbose = {Verbose} }}";
}
