using System.Security.Cryptography;
using OnceHub.Contracts.Receiver;
using Xunit.Abstractions;

namespace OnceHub.Contracts.Tests;

/// <summary>Tests that measure the whole process's allocations: nothing else may run beside them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection
{
    public const string Name = "allocations";
}

[Collection(AllocationCollection.Name)]
public sealed class ReceiverMemoryTests(ITestOutputHelper output)
{
    private const int Strangers = 20;
    private const int Announced = 1024 * 1024;

    [Fact]
    public async Task Twenty_strangers_announcing_1_MiB_each_cost_less_than_2_MiB()
    {
        await using var receiver = await ReferenceReceiver.StartAsync(new ReceiverOptions { Secrets = ["memory-test-secret"] });
        // Well formed and fresh, so only the MAC (which needs the body) can refuse them.
        string Forged() => $"t={DateTimeOffset.UtcNow.ToUnixTimeSeconds()},s={RandomNumberGenerator.GetHexString(64, lowercase: true)}";
        Task Round() => Task.WhenAll(Enumerable.Range(0, Strangers).Select(_ => RawHttp.StrangerAsync(receiver.Url, Announced, 1024, Forged())));

        await Round(); // warm up: connections, JIT, pools
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await Round();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"{Strangers} strangers announcing {Announced} bytes each: {allocated:N0} bytes allocated");

        Assert.True(allocated < 2 * 1024 * 1024,
            $"{Strangers} strangers announcing {Announced} bytes each allocated {allocated:N0} bytes in this process");
    }
}
