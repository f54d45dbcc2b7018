using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace OnceHub.Webhooks;

public static class OnceHubWebhooksServiceCollectionExtensions
{
    /// <summary>
    /// Registers what <see cref="OnceHubWebhooksEndpointRouteBuilderExtensions.MapOnceHubWebhooks"/> needs: the
    /// settings (read from configuration, see <see cref="OnceHubWebhookOptions"/>, then <paramref name="configure"/>),
    /// checked at startup; the event store (SQLite file by default, unless an <see cref="IEventStore"/> is
    /// registered already); the background purge of settled ids older than
    /// <see cref="OnceHubWebhookOptions.SettledRetention"/>; and a health check of the store named <see cref="OnceHubWebhookStoreHealthCheck.Name"/>.
    /// </summary>
    public static IServiceCollection AddOnceHubWebhooks(this IServiceCollection services, Action<OnceHubWebhookOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<OnceHubWebhookOptions>()
            .Configure<IConfiguration>((options, configuration) => options.BindFrom(configuration))
            .Configure(options => configure?.Invoke(options))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OnceHubWebhookOptions>, OnceHubWebhookOptionsValidator>());
        services.TryAddSingleton<IEventStore>(provider =>
        {
            var options = provider.GetRequiredService<IOptions<OnceHubWebhookOptions>>().Value;
            if (options.Store == WebhookStoreKind.InMemory)
            {
                return new InMemoryEventStore();
            }
            if (options.Store == WebhookStoreKind.PostgreSql)
            {
                // The PostgreSQL store lives in a package of its own, which registers itself under this key.
                return provider.GetKeyedService<IEventStore>(WebhookStoreKind.PostgreSql)
                    ?? throw new InvalidOperationException($"{OnceHubWebhookOptions.SectionName}:Store is PostgreSql: add the package "
                        + "OnceHub.Webhooks.PostgreSql and call services.UsePostgreSql() after AddOnceHubWebhooks()");
            }
            var root = provider.GetService<IHostEnvironment>()?.ContentRootPath ?? AppContext.BaseDirectory;
            return new SqliteEventStore(Path.GetFullPath(options.DatabasePath, root),
                new SqliteEventStoreOptions { Synchronous = options.SqliteSynchronous });
        });
        services.AddHostedService<SettledEventPurge>();
        services.TryAddSingleton(provider =>
            new UnverifiedBodyBudget(provider.GetRequiredService<IOptions<OnceHubWebhookOptions>>().Value.UnverifiedBodyBudgetBytes));
        services.AddHealthChecks().AddCheck<OnceHubWebhookStoreHealthCheck>(OnceHubWebhookStoreHealthCheck.Name);
        return services;
    }
}
