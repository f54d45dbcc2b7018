namespace OnceHub.Contracts.CommandLine;

/// <summary>
/// The exit codes of every verb of every program here (the CLI, the reference receiver, the emulator), so a script
/// tells "the receiver failed a check" from "the command line was wrong" the same way everywhere.
/// </summary>
public static class ExitCodes
{
    /// <summary>Done, and every check passed.</summary>
    public const int Ok = 0;

    /// <summary>A check failed, or a thing named (an event, a webhook, an entry) was not found.</summary>
    public const int Failed = 1;

    /// <summary>Bad input: an unknown verb or option, a value outside its rule, an unreadable file, a port in use.</summary>
    public const int BadInput = 2;

    /// <summary>Stopped by Ctrl+C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}
