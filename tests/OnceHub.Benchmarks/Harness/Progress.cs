namespace OnceHub.Benchmarks.Harness;

/// <summary>Progress goes to stderr so stdout holds only the figures.</summary>
public static class Progress
{
    public static void Line(string text) => Console.Error.WriteLine("  " + text);
}

/// <summary>A benchmark could not run; the message is one line meant for the user.</summary>
public sealed class BenchmarkException(string message) : Exception(message);
