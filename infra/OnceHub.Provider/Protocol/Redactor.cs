using System.Collections.Concurrent;

namespace OnceHub.Provider.Protocol;

/// <summary>
/// Remembers every sensitive string the provider has handled (the API key, webhook secrets) and masks
/// it in any text bound for a log or an error, whatever produced that text.
/// </summary>
public sealed class Redactor
{
    private const string Mask = "[redacted]";

    // Short values would mask ordinary words; keys and secrets are far longer.
    private const int MinimumLength = 6;

    private readonly ConcurrentDictionary<string, byte> _sensitive = new(StringComparer.Ordinal);

    public void Add(string? value)
    {
        if (value is { Length: >= MinimumLength })
        {
            _sensitive.TryAdd(value, 0);
        }
    }

    public string Redact(string text)
    {
        foreach (var value in _sensitive.Keys)
        {
            text = text.Replace(value, Mask, StringComparison.Ordinal);
        }

        return text;
    }
}
