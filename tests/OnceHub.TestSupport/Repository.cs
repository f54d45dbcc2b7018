namespace OnceHub.TestSupport;

/// <summary>The repository the tests and benchmarks run in: the folder holding OnceHubStack.sln.</summary>
public static class Repository
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    private static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OnceHubStack.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("OnceHubStack.sln not found above " + AppContext.BaseDirectory);
    }
}
