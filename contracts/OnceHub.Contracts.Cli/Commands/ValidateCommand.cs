using System.CommandLine;
using OnceHub.Contracts.CommandLine;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary><c>validate</c>: payload files against the event envelope and family schemas.</summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE")
        {
            Description = "payload files",
            Arity = ArgumentArity.OneOrMore,
        };
        var command = new Command("validate", "Check each payload file against the event envelope schema and its family's data schema. "
            + "Exit 0 when every file is valid (warnings, such as an event type the catalog does not know yet, are printed but allowed); "
            + "1 otherwise, listing each error's JSON path and rule.")
        {
            files,
        };
        command.SetAction(parsed =>
        {
            var output = parsed.InvocationConfiguration.Output;
            // Read everything first so a missing file is bad input before any output.
            var read = parsed.GetValue(files)!.Select(p => (Path: p, Bytes: Parsing.ReadFile("validate", p))).ToList();
            var allValid = true;
            foreach (var (path, bytes) in read)
            {
                var report = PayloadValidator.Default.Check(bytes);
                // Warnings (an event type the catalog does not know yet) are printed but do not fail the file:
                // OnceHub adds types over time.
                foreach (var warning in report.Warnings)
                {
                    output.WriteLine($"{path}: warning: {warning.Path}: {warning.Rule}");
                }
                if (report.IsValid)
                {
                    output.WriteLine($"{path}: valid");
                    continue;
                }
                allValid = false;
                foreach (var error in report.Errors)
                {
                    output.WriteLine($"{path}: {error.Path}: {error.Rule}");
                }
            }
            return allValid ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }
}
