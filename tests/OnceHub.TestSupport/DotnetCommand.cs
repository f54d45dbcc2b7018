using System.Diagnostics;

namespace OnceHub.TestSupport;

/// <summary>Runs a program (dotnet, an installed tool) to completion, with none of the test host's MSBuild settings.</summary>
public static class DotnetCommand
{
    /// <summary>Runs <c>dotnet</c> with <paramref name="args"/>; throws with its output unless it exits 0.</summary>
    public static string Run(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args) =>
        RunProgram("dotnet", workingDirectory, environment, args);

    /// <summary>Runs <paramref name="program"/>; throws with its output unless it exits 0; returns its stdout.</summary>
    public static string RunProgram(string program, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var (code, stdout, stderr) = Start(program, workingDirectory, environment, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {code}:\n{stdout}\n{stderr}");
        }

        return stdout;
    }

    /// <summary>Runs <paramref name="program"/> and returns its exit code and output, whatever the code.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Start(
        string program, string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = StartInfo(program, workingDirectory, args);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in 10 minutes");
        }

        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>
    /// How every test and benchmark starts a program: output redirected, and none of the MSBuild settings of the
    /// test host or of <c>dotnet run</c>, which must not leak into a separate build or program.
    /// </summary>
    public static ProcessStartInfo StartInfo(string program, string workingDirectory, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        return start;
    }
}
