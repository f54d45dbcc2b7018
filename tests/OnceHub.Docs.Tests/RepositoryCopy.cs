using System.Diagnostics;
using OnceHub.TestSupport;

namespace OnceHub.Docs.Tests;

/// <summary>
/// A fresh copy of the repository in a temporary folder: the files git tracks (and new ones it does not
/// ignore), nothing built, no local account. The READMEs' blocks run there, so they see what a new clone
/// sees and leave the working copy alone.
/// </summary>
public sealed class RepositoryCopy : IDisposable
{
    public RepositoryCopy()
    {
        Parent = Directory.CreateTempSubdirectory("oncehub-docs-").FullName;
        Root = Path.Combine(Parent, "oncehub-webhooks");
        foreach (var file in TrackedFiles())
        {
            var from = Path.Combine(Repository.Root, file);
            if (!File.Exists(from))
            {
                continue;
            }
            var to = Path.Combine(Root, file);
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(from, to);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(to, File.GetUnixFileMode(from));
            }
        }
    }

    /// <summary>The folder holding the copy; READMEs may put things beside the clone (packages, an app).</summary>
    public string Parent { get; }

    public string Root { get; }

    /// <summary>The repository's README files, relative to its root, the root one first.</summary>
    public static IReadOnlyList<string> Readmes() => [.. TrackedFiles()
        .Where(p => Path.GetFileName(p) == "README.md" && File.Exists(Path.Combine(Repository.Root, p)))
        .OrderBy(p => p == "README.md" ? "" : p, StringComparer.Ordinal)];

    public void Dispose()
    {
        try
        {
            Directory.Delete(Parent, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder must not fail a test.
        }
        catch (UnauthorizedAccessException)
        {
            // Nor one an owner-only account folder keeps.
        }
    }

    private static List<string> TrackedFiles()
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "ls-files", "-z", "--cached", "--others", "--exclude-standard" })
        {
            start.ArgumentList.Add(arg);
        }
        using var git = Process.Start(start)!;
        var output = git.StandardOutput.ReadToEndAsync();
        var error = git.StandardError.ReadToEndAsync();
        git.WaitForExit();
        if (git.ExitCode != 0)
        {
            throw new InvalidOperationException("git ls-files failed: " + error.Result);
        }
        return [.. output.Result.Split('\0', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal)];
    }
}
