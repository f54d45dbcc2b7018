using System.CommandLine;
using System.Runtime.InteropServices;
using OnceHub.Contracts.Cli.Commands;
using OnceHub.Contracts.CommandLine;
using OnceHub.Contracts.Receiver;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Cli;

/// <summary>Bad input found while a command runs (a file that cannot be read or written): exit 2, one line.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The contract suite's command line: the root only registers the commands (one file each under
/// Commands/). Exit codes and error lines are every program's: <see cref="ExitCodes"/>, <see cref="CommandLineErrors"/>.
/// </summary>
public sealed class CliApp(TextWriter stdout, TextWriter stderr, Func<string, string?>? environment = null)
{
    /// <summary>Where a secret comes from when no --secret is given.</summary>
    public const string SecretVariable = OnceHubWebhookOptions.SecretVariable;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            // Ctrl+C and SIGTERM cancel the verb, which reports what it has and exits 130; a second one ends the process.
            using var interrupt = new CancellationTokenSource();
            void Interrupt(PosixSignalContext signal)
            {
                signal.Cancel = !interrupt.IsCancellationRequested;
                interrupt.Cancel();
            }
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
            return await new CliApp(Console.Out, Console.Error).RunAsync(args, interrupt.Token);
        }
        catch (Exception ex)
        {
            // Whatever went wrong (a port that cannot be bound, an unwritable folder), one line, no stack trace.
            await Console.Error.WriteLineAsync(CommandLineErrors.Line(ex.Message));
            return ExitCodes.BadInput;
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
            await stderr.WriteLineAsync(ParseErrorLine(parsed));
            return ExitCodes.BadInput;
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                // Main turns Ctrl+C and SIGTERM into the token, so each verb reports what it has before exiting.
                ProcessTerminationTimeout = null,
            }, cancellationToken);
        }
        catch (UsageException ex)
        {
            await stderr.WriteLineAsync(CommandLineErrors.Line(ex.Message));
            return ExitCodes.BadInput;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync(CommandLineErrors.Line("interrupted"));
            return ExitCodes.Interrupted;
        }
    }

    /// <summary>
    /// The first parse error only (a later one is often a consequence of it), except that a verb which does not
    /// exist is named with the closest verbs instead of "Required command was not provided".
    /// </summary>
    private static string ParseErrorLine(ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        if (command.Subcommands.Count > 0)
        {
            var verbs = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
            var token = parsed.UnmatchedTokens.FirstOrDefault(t => !t.StartsWith('-'));
            return token is not null
                ? CommandLineErrors.UnknownVerb(token, verbs)
                : CommandLineErrors.Parse($"name a command: {string.Join(", ", verbs)}");
        }
        return CommandLineErrors.Parse(parsed.Errors[0].Message);
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
