namespace OnceHub.Account;

/// <summary>
/// A path a user typed (a flag's value, the folder of <c>file:PATH</c>) made absolute against the caller's
/// working directory: the one place the programs resolve one, so every message about it names the exact file.
/// </summary>
public static class UserPath
{
    /// <summary>The absolute form of <paramref name="path"/>, relative to the current working directory.</summary>
    /// <exception cref="ArgumentException">The path is empty or holds a character no path may hold.</exception>
    public static string Resolve(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Path.GetFullPath(path, Directory.GetCurrentDirectory());
    }
}
