using Grpc.Core;

namespace OnceHub.Provider.Tests.Harness;

public static class Rpc
{
    /// <summary>Runs a call expected to fail and returns its status.</summary>
    public static async Task<Status> FailureOf<T>(Func<Task<T>> call) => (await Assert.ThrowsAsync<RpcException>(call)).Status;
}
