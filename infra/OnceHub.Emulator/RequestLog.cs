using System.Collections.Concurrent;

namespace OnceHub.Emulator;

/// <summary>The latest requests answered, as <c>METHOD /path?query -> outcome</c>, and how many there were in all.</summary>
internal sealed class RequestLog(int capacity)
{
    /// <summary>A logged line is cut here: paths and queries come from anyone who can connect.</summary>
    private const int MaxLoggedLineLength = 300;

    private readonly ConcurrentQueue<string> _requests = new();
    private long _requestCount;

    public IReadOnlyList<string> Entries => [.. _requests];

    public int Count => (int)Interlocked.Read(ref _requestCount);

    public void Add(string line, string outcome)
    {
        _requests.Enqueue($"{Truncate(line)} -> {outcome}");
        Interlocked.Increment(ref _requestCount);
        // Bounded: a long-running emulator (or a flood of anonymous requests) must not grow without end.
        while (_requests.Count > capacity && _requests.TryDequeue(out _))
        {
        }
    }

    public static string Truncate(string text) =>
        text.Length <= MaxLoggedLineLength ? text : text[..MaxLoggedLineLength] + "…";
}
