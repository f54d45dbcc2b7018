namespace OnceHub.Docs.Tests;

/// <summary>What the HTML comment just above a fenced block says about running it.</summary>
public enum BlockKind
{
    /// <summary>No marker: a command block runs, any other block is only shown.</summary>
    Plain,

    /// <summary><c>&lt;!-- server: ready when it prints TEXT --&gt;</c>: runs in the background until the README's end, waited for until TEXT appears.</summary>
    Server,

    /// <summary><c>&lt;!-- file: PATH --&gt;</c>: the block is the content of PATH, written where the reader stands.</summary>
    File,

    /// <summary><c>&lt;!-- exit: N --&gt;</c>: the block's commands end with exit code N, as the README says.</summary>
    Exit,

    /// <summary><c>&lt;!-- run by: PATH --&gt;</c>: a test of the repository runs this command itself.</summary>
    RunBy,

    /// <summary><c>&lt;!-- not run: REASON --&gt;</c>: needs what this machine cannot have (the Pulumi CLI, a real OnceHub account).</summary>
    NotRun,
}

/// <summary>One fenced block of a README: where it starts, its language, its text and its marker.</summary>
public sealed record ReadmeBlock(string Readme, int Line, string Language, string Text, BlockKind Kind, string Argument)
{
    private static readonly string[] CommandLanguages = ["sh", "bash", "shell"];

    public bool IsCommands => CommandLanguages.Contains(Language, StringComparer.Ordinal);

    public string Where => $"{Readme}:{Line}";
}
