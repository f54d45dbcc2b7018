using OnceHub.TestSupport;

namespace OnceHub.Provider.Tests.Harness;

/// <summary>Tests of the published plugin share one publish per test run.</summary>
[CollectionDefinition(Name)]
public sealed class PluginCollection : ICollectionFixture<PluginBuild>
{
    public const string Name = "plugin";
}
