using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace OnceHub.Webhooks.PostgreSql;

public static class PostgreSqlServiceCollectionExtensions
{
    /// <summary>The name under <c>ConnectionStrings</c> read when no connection string is passed in code.</summary>
    public const string ConnectionStringName = "OnceHubWebhooks";

    /// <summary>
    /// Makes the store of <see cref="OnceHubWebhooksServiceCollectionExtensions.AddOnceHubWebhooks"/> a
    /// <see cref="PostgreSqlEventStore"/> (<c>OnceHub:Webhooks:Store</c> becomes <c>PostgreSql</c>): on
    /// <paramref name="connectionString"/>, or else on <c>ConnectionStrings:OnceHubWebhooks</c> from configuration.
    /// The store's health check is the one <c>AddOnceHubWebhooks</c> registers; <see cref="PostgreSqlInbox"/> is
    /// registered too, for handlers whose writes must commit with their event's settle.
    /// </summary>
    public static IServiceCollection UsePostgreSql(this IServiceCollection services, string? connectionString = null, PostgreSqlEventStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        options ??= new PostgreSqlEventStoreOptions();
        if (options.SchemaError() is { } error)
        {
            throw new ArgumentException(error, nameof(options));
        }
        services.PostConfigure<OnceHubWebhookOptions>(webhooks => webhooks.Store = WebhookStoreKind.PostgreSql);
        AddInbox(services);
        services.AddKeyedSingleton<IEventStore>(WebhookStoreKind.PostgreSql, (provider, _) =>
        {
            var configured = connectionString ?? provider.GetService<IConfiguration>()?.GetConnectionString(ConnectionStringName);
            if (string.IsNullOrWhiteSpace(configured))
            {
                throw new InvalidOperationException(
                    $"the PostgreSQL event store has no connection string: set ConnectionStrings:{ConnectionStringName} or pass one to UsePostgreSql");
            }
            try
            {
                return new PostgreSqlEventStore(configured, options);
            }
            catch (ArgumentException ex)
            {
                // Npgsql names the bad keyword; the string itself may hold a password and is not repeated.
                throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is not a valid PostgreSQL connection string: {ex.Message}", ex);
            }
        });
        return services;
    }

    /// <inheritdoc cref="UsePostgreSql(IServiceCollection, string?, PostgreSqlEventStoreOptions?)"/>
    /// <param name="services">The services.</param>
    /// <param name="dataSource">The application's own data source (its pool, its settings); left open by the store.</param>
    /// <param name="options">The schema.</param>
    public static IServiceCollection UsePostgreSql(this IServiceCollection services, NpgsqlDataSource dataSource, PostgreSqlEventStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(dataSource);
        var store = new PostgreSqlEventStore(dataSource, options);
        services.PostConfigure<OnceHubWebhookOptions>(webhooks => webhooks.Store = WebhookStoreKind.PostgreSql);
        services.AddKeyedSingleton<IEventStore>(WebhookStoreKind.PostgreSql, store);
        AddInbox(services);
        return services;
    }

    // The inbox writes through the store's own data source and schema.
    private static void AddInbox(IServiceCollection services) =>
        services.AddSingleton(provider => new PostgreSqlInbox((PostgreSqlEventStore)provider.GetRequiredKeyedService<IEventStore>(WebhookStoreKind.PostgreSql)));
}
