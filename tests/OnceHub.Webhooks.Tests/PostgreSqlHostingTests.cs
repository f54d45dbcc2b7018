using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OnceHub.Contracts.Payloads;
using OnceHub.Contracts.Suite;
using OnceHub.TestSupport;
using OnceHub.Webhooks.PostgreSql;

namespace OnceHub.Webhooks.Tests;

/// <summary>An app that keeps its event ids in PostgreSQL, configured the documented ways.</summary>
public sealed class PostgreSqlHostingTests : IDisposable
{
    private const string Secret = "postgres-hosting-secret-0123456789abcdef";
    private static readonly HttpClient Http = new();
    private readonly string _schema = $"test_{Guid.NewGuid():N}";
    private bool _usedServer;

    [Fact]
    public async Task Store_PostgreSql_in_configuration_without_the_package_registered_stops_the_app_naming_the_package()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => LibraryHost.StartAsync(new Dictionary<string, string?>
        {
            ["OnceHub:Webhooks:Secrets:0"] = Secret,
            ["OnceHub:Webhooks:Store"] = "PostgreSql",
        }));

        Assert.Contains("add the package OnceHub.Webhooks.PostgreSql and call services.UsePostgreSql()", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_that_does_not_answer_makes_the_store_health_check_unhealthy()
    {
        await using var host = await LibraryHost.StartAsync(new Dictionary<string, string?> { ["OnceHub:Webhooks:Secrets:0"] = Secret },
            services: s => s.UsePostgreSql("Host=127.0.0.1;Port=1;Username=nobody;Timeout=2"));

        using var health = await Http.GetAsync(host.HealthUrl);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.IsType<PostgreSqlEventStore>(host.Services.GetRequiredService<IEventStore>());
    }

    [SkippableFact]
    public async Task With_the_connection_string_from_configuration_events_are_settled_in_the_database_and_a_redelivery_is_a_duplicate()
    {
        var connectionString = TestPostgres.ConnectionString();
        _usedServer = true;
        var handled = 0;
        await using var host = await LibraryHost.StartAsync(new Dictionary<string, string?>
        {
            ["OnceHub:Webhooks:Secrets:0"] = Secret,
            ["OnceHub:Webhooks:Store"] = "PostgreSql",
            ["ConnectionStrings:OnceHubWebhooks"] = connectionString,
        }, h => h.OnAnyEvent((_, _) =>
        {
            Interlocked.Increment(ref handled);
            return Task.CompletedTask;
        }), services: s => s.UsePostgreSql(options: new PostgreSqlEventStoreOptions { Schema = _schema }));

        var body = ContractSuite.WithNewEventId(ContractResources.ReadSample("booking.scheduled"));
        Assert.Equal(HttpStatusCode.OK, (await EndpointTests.PostAsync(host.Url, body, Secret)).StatusCode);
        using var again = await EndpointTests.PostAsync(host.Url, body, Secret);
        Assert.Equal("duplicate", await again.Content.ReadAsStringAsync());
        using var health = await Http.GetAsync(host.HealthUrl);

        Assert.Equal(1, handled);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        // another replica on the same database sees the settle
        using var replica = new PostgreSqlEventStore(connectionString, new PostgreSqlEventStoreOptions { Schema = _schema });
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        Assert.Equal(SettledAs.Processed, await replica.GetSettledAsync(id));
    }

    [Fact]
    public void A_schema_name_that_is_not_a_plain_lowercase_identifier_is_refused_with_the_rule()
    {
        var failure = Assert.Throws<ArgumentException>(() => new ServiceCollection().UsePostgreSql("Host=db", new PostgreSqlEventStoreOptions { Schema = "Bad\"Name" }));

        Assert.StartsWith("Schema must be a lowercase identifier", failure.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (_usedServer)
        {
            TestPostgres.DropSchema(_schema);
        }
    }
}
