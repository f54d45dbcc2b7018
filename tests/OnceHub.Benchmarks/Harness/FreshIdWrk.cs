using System.Globalization;
using System.Text;
using OnceHub.Contracts.Payloads;
using OnceHub.Webhooks;

namespace OnceHub.Benchmarks.Harness;

/// <summary>
/// wrk posting the <c>booking.scheduled</c> sample with a fresh event id in every request, each signed before the
/// run (a file of ids and signatures that wrk's Lua reads), so an endpoint stores a new id per request and the
/// signing costs the client nothing. Each request is also a booking of its own (<c>data.id</c> follows the event
/// id), as concurrent deliveries are in an account: one booking in every request would make a store that keeps
/// each booking's newest time write one row for all of them, a contention real traffic does not have.
/// </summary>
public sealed class FreshIdWrk
{
    public const int Connections = 32;
    public const int Seconds = 10;
    public const int WarmUpSeconds = 5;
    // More than the fastest endpoint answers in one run, so every request is a new id.
    private const int RequestsPerRun = 400_000;

    private readonly string _wrk;
    private readonly string _folder;
    private readonly string _secret;
    private readonly string _prefix;
    private readonly string _middle;
    private readonly string _suffix;
    private int _run;

    private FreshIdWrk(string wrk, string folder, string secret, string prefix, string middle, string suffix)
    {
        _wrk = wrk;
        _folder = folder;
        _secret = secret;
        _prefix = prefix;
        _middle = middle;
        _suffix = suffix;
    }

    /// <summary>Finds (or installs) wrk and writes the body's two halves and the Lua script into <paramref name="folder"/>.</summary>
    public static async Task<FreshIdWrk> PrepareAsync(string folder, string secret)
    {
        var wrk = await Wrk.EnsureAsync();
        Directory.CreateDirectory(folder);
        var sample = Encoding.UTF8.GetString(ContractResources.ReadSample("booking.scheduled"));
        var root = System.Text.Json.JsonDocument.Parse(sample).RootElement;
        var id = root.GetProperty("id").GetString()!;
        var booking = root.GetProperty("data").GetProperty("id").GetString()!;
        // The body is prefix, event id, middle, booking id's tail, suffix: the booking id is BKNG- and the event id's tail.
        var at = sample.IndexOf("\"" + id + "\"", StringComparison.Ordinal) + 1;
        var bookingAt = sample.IndexOf("\"" + booking + "\"", at, StringComparison.Ordinal) + 1 + BookingPrefix.Length;
        var (prefix, middle, suffix) = (sample[..at], sample[(at + id.Length)..bookingAt], sample[(bookingAt + booking.Length - BookingPrefix.Length)..]);
        var wrkLoad = new FreshIdWrk(wrk, folder, secret, prefix, middle, suffix);
        var probe = System.Text.Json.JsonDocument.Parse(wrkLoad.Body("EVNT-PROBE1")).RootElement;
        if (probe.GetProperty("id").GetString() != "EVNT-PROBE1" || probe.GetProperty("data").GetProperty("id").GetString() != "BKNG-PROBE1")
        {
            throw new InvalidOperationException("the booking.scheduled sample no longer has its event id before its booking id");
        }
        await File.WriteAllTextAsync(Path.Combine(folder, "prefix.json"), prefix);
        await File.WriteAllTextAsync(Path.Combine(folder, "middle.json"), middle);
        await File.WriteAllTextAsync(Path.Combine(folder, "suffix.json"), suffix);
        await File.WriteAllTextAsync(Path.Combine(folder, "fresh.lua"), LuaScript);
        return wrkLoad;
    }

    private const string BookingPrefix = "BKNG-";
    private const string EventPrefix = "EVNT-";

    /// <summary>The body wrk sends for <paramref name="eventId"/> (the Lua script builds the same).</summary>
    private string Body(string eventId) => _prefix + eventId + _middle + eventId[EventPrefix.Length..] + _suffix;

    /// <summary><see cref="WarmUpSeconds"/> of load, then the measured <see cref="Seconds"/>, each with ids never sent before.</summary>
    public async Task<WrkResult> LoadAsync(Uri url)
    {
        await WriteRequestsAsync();
        await Wrk.RunAsync(_wrk, Path.Combine(_folder, "fresh.lua"), url, Connections, WarmUpSeconds);
        await WriteRequestsAsync();
        return await Wrk.RunAsync(_wrk, Path.Combine(_folder, "fresh.lua"), url, Connections, Seconds);
    }

    // Signed now, each with its own id never sent before: valid for the 300 s tolerance through the run.
    private async Task WriteRequestsAsync()
    {
        var signer = new WebhookSigner(_secret);
        var lines = new StringBuilder();
        var round = Interlocked.Increment(ref _run);
        for (var i = 0; i < RequestsPerRun; i++)
        {
            var eventId = string.Create(CultureInfo.InvariantCulture, $"{EventPrefix}W{round}X{i:D9}");
            lines.Append(eventId).Append(' ').Append(signer.CreateHeader(Encoding.UTF8.GetBytes(Body(eventId)))).Append('\n');
        }
        await File.WriteAllTextAsync(Path.Combine(_folder, "requests.txt"), lines.ToString());
    }

    // wrk's two threads take alternate lines of requests.txt ("id signature"), so no id is sent twice.
    private static readonly string LuaScript = $$"""
        local counter = 0
        function setup(thread)
          thread:set("offset", counter)
          counter = counter + 1
        end

        function init(args)
          local function read(name)
            local file = assert(io.open(name, "rb"))
            local text = file:read("*a")
            file:close()
            return text
          end
          prefix = read("prefix.json")
          middle = read("middle.json")
          suffix = read("suffix.json")
          ids = {}
          signatures = {}
          local n = 0
          for line in io.lines("requests.txt") do
            if n % 2 == offset then
              local space = line:find(" ", 1, true)
              ids[#ids + 1] = line:sub(1, space - 1)
              signatures[#signatures + 1] = line:sub(space + 1)
            end
            n = n + 1
          end
          next_request = 0
        end

        function request()
          next_request = next_request % #ids + 1
          local headers = { ["Content-Type"] = "application/json", ["Oncehub-Signature"] = signatures[next_request] }
          local id = ids[next_request]
          return wrk.format("POST", nil, headers, prefix .. id .. middle .. id:sub({{EventPrefix.Length + 1}}) .. suffix)
        end
        """;
}
