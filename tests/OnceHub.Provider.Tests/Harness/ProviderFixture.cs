using OnceHub.TestSupport;

namespace OnceHub.Provider.Tests.Harness;

/// <summary>
/// One provider hosted in the test process for a test class, handshaken with a fake engine and
/// configured with an empty local account; for calls that change nothing the tests look at.
/// </summary>
public sealed class ProviderFixture : IAsyncLifetime
{
    public ProviderSession Session { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Session = await ProviderSession.StartAsync();
        await Session.ConfigureAsync("file:" + Directory.CreateTempSubdirectory("oncehub-fixture-").FullName);
    }

    public async Task DisposeAsync() => await Session.DisposeAsync();
}
