namespace OnceHub.Contracts.Cli.Triggering;

/// <summary>A trigger that could not be made, with the exit code it means.</summary>
internal sealed class TriggerException(string message, int exitCode) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
