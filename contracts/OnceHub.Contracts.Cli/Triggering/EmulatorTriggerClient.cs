using System.Net.Http.Json;
using OnceHub.Account;
using OnceHub.Contracts.CommandLine;
using OnceHub.LocalDelivery;

namespace OnceHub.Contracts.Cli.Triggering;

/// <summary>
/// A running emulator's local-delivery routes: it signs and sends attempt 1, and its own <c>--deliver</c> loop sends
/// the retries, which following polls.
/// </summary>
internal sealed class EmulatorTriggerClient : ITriggerTarget
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    private readonly HttpClient _http;
    private readonly Uri _root;

    private EmulatorTriggerClient(Uri root, string key)
    {
        _root = root;
        _http = new HttpClient { BaseAddress = root, Timeout = TimeSpan.FromMinutes(2) };
        _http.DefaultRequestHeaders.Add(ApiAuthentication.HeaderName, key);
    }

    /// <exception cref="TriggerException">Not an http(s) URL, or no key (bad input).</exception>
    public static EmulatorTriggerClient Create(string apiUrl, string? key, string keyVariable)
    {
        if (!Uri.TryCreate(apiUrl, UriKind.Absolute, out var api) || api.Scheme is not ("http" or "https"))
        {
            throw new TriggerException($"--api must be an http(s) URL (got '{apiUrl}')", ExitCodes.BadInput);
        }
        if (string.IsNullOrEmpty(key))
        {
            throw new TriggerException($"--api needs the emulator's API key: --api-key K or {keyVariable}", ExitCodes.BadInput);
        }
        // The local-delivery routes sit beside the API, outside /v2: the API returns no secrets on reads.
        return new EmulatorTriggerClient(new Uri(api.GetLeftPart(UriPartial.Authority)), key);
    }

    public async Task<FanOutJson> TriggerAsync(string eventType, IReadOnlyList<PayloadOverride> overrides, CancellationToken ct)
    {
        try
        {
            using var response = await _http.PostAsJsonAsync(LocalDeliveryRoutes.Events,
                new TriggerRequestJson { Event = eventType, Set = [.. overrides.Select(o => $"{o.Path}={o.Value}")] },
                LocalDeliveryJsonContext.Default.TriggerRequestJson, ct);
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                throw new TriggerException($"the emulator answered {(int)response.StatusCode}: {CommandLineErrors.FirstLine(text)}",
                    (int)response.StatusCode is 400 ? ExitCodes.BadInput : ExitCodes.Failed);
            }
            return await response.Content.ReadFromJsonAsync(LocalDeliveryJsonContext.Default.FanOutJson, ct)
                ?? throw new TriggerException($"no usable answer from the emulator at {_root}: an empty body", ExitCodes.Failed);
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            throw new TriggerException($"no usable answer from the emulator at {_root}: {ex.Message}", ExitCodes.Failed);
        }
    }

    public async Task<EventStateJson> FollowAsync(string eventId, TextWriter output, CancellationToken ct)
    {
        // The emulator sends the retries (started with --deliver); follow its view of the event.
        while (true)
        {
            EventStateJson? state;
            try
            {
                state = await _http.GetFromJsonAsync(LocalDeliveryRoutes.Events + "/" + Uri.EscapeDataString(eventId),
                    LocalDeliveryJsonContext.Default.EventStateJson, ct);
            }
            catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                throw new TriggerException($"no usable answer from the emulator at {_root}: {ex.Message}", ExitCodes.Failed);
            }
            if (state is null)
            {
                throw new TriggerException($"no usable answer from the emulator at {_root}: an empty body", ExitCodes.Failed);
            }
            if (state.Pending == 0 || ct.IsCancellationRequested)
            {
                return state;
            }
            await Task.Delay(PollInterval, ct);
        }
    }

    public void Dispose() => _http.Dispose();
}
