using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Suite;

namespace OnceHub.Contracts.Cli.Output;

/// <summary>The JUnit report's file: checked before the run, written after it.</summary>
internal static class ReportFile
{
    /// <summary>
    /// Refuses a path that cannot be written, before any request is made: an empty path, a folder, a
    /// missing folder, or a file that cannot be opened for writing. A file this creates to find out is removed.
    /// </summary>
    public static string Check(string flag, string path)
    {
        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal))
        {
            throw new UsageException($"{flag}: give the path of the JUnit XML file to write");
        }
        var full = OnceHub.Account.UserPath.Resolve(path);
        var shown = Parsing.Printable(full);
        if (Directory.Exists(full))
        {
            throw new UsageException($"{flag}: '{shown}' is a folder; give a file path such as {Path.Combine(shown, "contract.xml")}");
        }
        var dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir))
        {
            throw new UsageException($"{flag}: the folder of '{shown}' does not exist");
        }
        var existed = File.Exists(full);
        try
        {
            using (new FileStream(full, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite))
            {
            }
            if (!existed)
            {
                File.Delete(full);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{flag}: cannot write '{shown}': {CommandLineErrors.FirstLine(ex.Message)}");
        }
        return full;
    }

    public static void Write(string path, SuiteReport report)
    {
        try
        {
            using var file = File.Create(path);
            JUnitReport.Write(report, file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--report: cannot write '{Parsing.Printable(path)}': {CommandLineErrors.FirstLine(ex.Message)}");
        }
    }
}
