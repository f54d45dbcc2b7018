using OnceHub.Account;
using OnceHub.Emulator;
using Xunit.Abstractions;

namespace OnceHub.Api.Tests;

/// <summary>The embedded, file-backed local account: restarts, concurrent writers, corrupt state.</summary>
public sealed class LocalAccountTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = TempDir.Create();

    public void Dispose() => TempDir.Delete(_dir);

    private IWebhookApi FileClient(bool allowInsecureUrls = false) =>
        OnceHubClient.Create(new OnceHubClientOptions { BaseUrl = new Uri(_dir), ApiKey = "unused", AllowInsecureUrls = allowInsecureUrls });

    [Fact]
    public async Task The_account_survives_a_restart()
    {
        var ids = new List<string>();
        using (var first = FileClient())
        {
            for (var i = 0; i < 3; i++)
            {
                var created = await first.CreateAsync(new WebhookRequest($"hook {i}", $"https://h.example.com/{i}", ["booking.completed"]));
                Assert.Matches("^[0-9a-f]{64}$", created.Secret!);
                ids.Add(created.Id);
            }
        }

        using (var second = FileClient())
        {
            var listed = await second.ListAsync();
            Assert.Equal(Enumerable.Reverse(ids), listed.Select(w => w.Id)); // newest first, as the API lists
            Assert.All(listed, w => Assert.Null(w.Secret));
            Assert.Equal("hook 1", (await second.GetAsync(ids[1]))!.Name);
            Assert.True(await second.DeleteAsync(ids[1]));
            Assert.False(await second.DeleteAsync(ids[1]));
        }

        using var third = FileClient();
        Assert.Equal([ids[2], ids[0]], (await third.ListAsync()).Select(w => w.Id));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp")); // every write renamed its temp file into place
    }

    [Fact]
    public async Task The_emulator_and_a_file_client_share_one_account_folder()
    {
        await using var emulator = await EmulatorServer.StartAsync(new EmulatorOptions { ApiKey = Harness.ApiKey, DataDirectory = _dir });
        using var http = OnceHubClient.Create(new OnceHubClientOptions { BaseUrl = emulator.BaseUrl, ApiKey = Harness.ApiKey });
        using var file = FileClient();

        var viaHttp = await http.CreateAsync(new WebhookRequest("via http", "https://h.example.com/a", ["booking"]));
        var viaFile = await file.CreateAsync(new WebhookRequest("via file", "https://h.example.com/b", ["conversation"]));

        Assert.Equal([viaFile.Id, viaHttp.Id], (await http.ListAsync()).Select(w => w.Id));
        Assert.Equal([viaFile.Id, viaHttp.Id], (await file.ListAsync()).Select(w => w.Id));
        var clash = await Assert.ThrowsAsync<OnceHubApiException>(
            () => file.CreateAsync(new WebhookRequest("via http", "https://h.example.com/c", ["booking"])));
        Assert.Equal(409, clash.StatusCode);
    }

    [Fact]
    public async Task File_client_applies_the_same_rules()
    {
        using var strict = FileClient();
        var url = await Assert.ThrowsAsync<OnceHubApiException>(
            () => strict.CreateAsync(new WebhookRequest("local", "http://127.0.0.1:5000/h", ["booking"])));
        Assert.Equal(("url", 400), (url.Param, url.StatusCode));
        var events = await Assert.ThrowsAsync<OnceHubApiException>(
            () => strict.CreateAsync(new WebhookRequest("local", "https://h.example.com", ["booking.teleported"])));
        Assert.Equal("events", events.Param);
        Assert.Contains("'booking.teleported'", events.Message);

        using var relaxed = FileClient(allowInsecureUrls: true);
        var created = await relaxed.CreateAsync(new WebhookRequest("local", "http://127.0.0.1:5000/h", ["booking"]));
        Assert.Equal("http://127.0.0.1:5000/h", created.Url);
    }

    [Fact]
    public async Task Two_processes_writing_at_once_lose_nothing()
    {
        const int perWriter = 40;
        using var process = EmulatorProcess.Start(["--port", "0", "--data", _dir, "--no-rate-limits"], apiKeyVariable: Harness.ApiKey);
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(Uri.TryCreate(line, UriKind.Absolute, out var baseUrl), $"expected the base URL, got '{line}'");
            output.WriteLine($"emulator process {process.Id} at {baseUrl}");

            using var http = OnceHubClient.Create(new OnceHubClientOptions { BaseUrl = baseUrl, ApiKey = Harness.ApiKey });
            using var file = FileClient();
            // Several loops per writer so the two processes' writes really interleave.
            var viaProcess = Writers(http, "process", loops: 4, perLoop: perWriter / 4);
            var inProcess = Writers(file, "local", loops: 4, perLoop: perWriter / 4);
            await Task.WhenAll(viaProcess, inProcess);

            var all = await http.ListAsync();
            output.WriteLine($"webhooks after {perWriter} creates from each writer: {all.Count}");
            Assert.Equal(2 * perWriter, all.Count);
            Assert.Equal(2 * perWriter, all.Select(w => w.Name).Distinct().Count());
            Assert.Equal(2 * perWriter, (await file.ListAsync()).Count);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    private static Task Writers(IWebhookApi api, string prefix, int loops = 4, int perLoop = 10) =>
        Task.WhenAll(Enumerable.Range(0, loops).Select(loop => Task.Run(async () =>
        {
            for (var i = 0; i < perLoop; i++)
            {
                await api.CreateAsync(new WebhookRequest($"{prefix} {loop}.{i}", "https://h.example.com/w", ["booking"]));
            }
        })));

    [Fact]
    public async Task Independent_stores_on_many_threads_lose_nothing()
    {
        const int threads = 8;
        const int perThread = 15;
        var stores = new[] { new FileAccountStore(_dir), new FileAccountStore(_dir) };
        var workers = Enumerable.Range(0, threads).Select(t => Task.Run(() =>
        {
            var store = stores[t % 2];
            for (var i = 0; i < perThread; i++)
            {
                var result = store.Create($"t{t} #{i}", "https://h.example.com/x", ["booking"]);
                Assert.True(result.IsSuccess, result.Error?.Message);
            }
        }));
        await Task.WhenAll(workers);

        Assert.Equal(threads * perThread, new FileAccountStore(_dir).Snapshot().Count);
        // Name uniqueness holds across writers too.
        Assert.Equal(409, stores[1].Create("t0 #0", "https://h.example.com/x", ["booking"]).Error?.Status);
    }

    [Fact]
    public async Task A_corrupt_state_file_is_reported_by_name_and_left_untouched()
    {
        using (var client = FileClient())
        {
            await client.CreateAsync(new WebhookRequest("keep me", "https://h.example.com", ["booking"]));
        }

        var state = Path.Combine(_dir, FileAccountStore.StateFileName);
        var corrupt = File.ReadAllText(state)[..40];
        File.WriteAllText(state, corrupt);

        using var reopened = FileClient();
        var ex = await Assert.ThrowsAsync<OnceHubApiException>(() => reopened.ListAsync());
        Assert.Contains(state, ex.Message);
        Assert.Contains("not valid JSON", ex.Message);
        await Assert.ThrowsAsync<OnceHubApiException>(
            () => reopened.CreateAsync(new WebhookRequest("new", "https://h.example.com", ["booking"])));
        Assert.Equal(corrupt, File.ReadAllText(state));

        File.WriteAllText(state, "{\"format\": 1, \"webhooks\": [{\"id\": \"WHK-1\", \"name\": \"n\"}]}");
        var incomplete = Assert.Throws<AccountStoreException>(() => new FileAccountStore(_dir).Snapshot());
        Assert.Contains("'url'", incomplete.Message);
        Assert.Contains(state, incomplete.Message);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Secrets_in_the_state_file_are_readable_by_the_owner_only()
    {
        var store = new FileAccountStore(_dir);
        Assert.True(store.Create("n", "https://h.example.com", ["booking"]).IsSuccess);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.StatePath));
    }
}
