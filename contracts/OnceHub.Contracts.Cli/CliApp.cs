using System.CommandLine;
using OnceHub.Contracts.Cli.Commands;
using OnceHub.Contracts.Receiver;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Cli;

/// <summary>Bad input found while a command runs (a file that cannot be read or written): exit 2, one line.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The contract suite's command line: the root only registers the commands (one file each under
/// Commands/). Exit codes: 0 all good, 1 a check or validation failed, 2 bad input (unknown command or
/// option, a value outside its rule, an unreadable or unwritable file) or a run that could not start.
/// </summary>
public sealed class CliApp(TextWriter stdout, TextWriter stderr, Func<string, string?>? environment = null)
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadInput = 2;

    /// <summary>Where a secret comes from when no --secret is given.</summary>
    public const string SecretVariable = OnceHubWebhookOptions.SecretVariable;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await new CliApp(Console.Out, Console.Error).RunAsync(args);
        }
        catch (Exception ex)
        {
            // Whatever went wrong (a port that cannot be bound, an unwritable folder), one line, no stack trace.
            await Console.Error.WriteLineAsync($"error: {ex.GetType().Name}: {Parsing.FirstLine(ex.Message)}");
            return BadInput;
        }
    }

    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("OnceHub webhook contract: verify a receiver, send signed events, explain the retry schedule.")
        {
            VerifyCommand.Create(),
            SendCommand.Create(),
            ScheduleCommand.Create(),
            SignCommand.Create(),
            ValidateCommand.Create(),
        };
        foreach (var command in LocalVerbs.All())
        {
            root.Subcommands.Add(command);
        }
        VersionAction.Use(root, typeof(CliApp).Assembly);
        return root;
    }

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken = default)
    {
        using var scope = CliEnvironment.Use(environment);
        var parsed = CreateRoot().Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // System.CommandLine answers a parse error with 1, which here means "a check failed": bad input is 2.
            // The first error only: a later one is often a consequence of it (a value taken as an option's).
            await stderr.WriteLineAsync("error: " + Parsing.FirstLine(parsed.Errors[0].Message));
            return BadInput;
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
            }, cancellationToken);
        }
        catch (UsageException ex)
        {
            await stderr.WriteLineAsync("error: " + ex.Message);
            return BadInput;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("error: canceled");
            return BadInput;
        }
    }
}

/// <summary>Environment variables as the commands see them; tests give their own.</summary>
internal static class CliEnvironment
{
    private static readonly AsyncLocal<Func<string, string?>?> Override = new();

    public static string? Get(string name) => (Override.Value ?? Environment.GetEnvironmentVariable)(name);

    public static IDisposable Use(Func<string, string?>? environment)
    {
        var previous = Override.Value;
        Override.Value = environment;
        return new Restore(previous);
    }

    private sealed class Restore(Func<string, string?>? previous) : IDisposable
    {
        public void Dispose() => Override.Value = previous;
    }
}
