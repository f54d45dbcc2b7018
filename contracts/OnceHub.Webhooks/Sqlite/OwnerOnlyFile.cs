namespace OnceHub.Sqlite;

/// <summary>Creates a database file readable by its owner only, before SQLite opens it.</summary>
internal static class OwnerOnlyFile
{
    /// <summary>
    /// Creates <paramref name="path"/> empty with mode 0600 unless it exists (or on Windows, where modes do not
    /// apply). SQLite gives the log and shared-memory files the database file's mode, so this covers all three.
    /// </summary>
    public static void CreateIfMissing(string path)
    {
        if (OperatingSystem.IsWindows() || File.Exists(path))
        {
            return;
        }
        try
        {
            using var created = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first; SQLite opens what is there.
        }
    }
}
