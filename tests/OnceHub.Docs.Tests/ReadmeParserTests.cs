namespace OnceHub.Docs.Tests;

public sealed class ReadmeParserTests
{
    [Fact]
    public void Each_marker_gives_its_block_a_kind_and_an_argument()
    {
        var blocks = ReadmeParser.Parse("R.md", """
            <!-- server: ready when it prints listening on -->
            ```sh
            serve
            ```

            <!-- file: Program.cs -->
            ```csharp
            return 0;
            ```
            <!-- exit: 1 -->
            ```bash
            false
            ```
            ```text
            output
            ```
            """);

        Assert.Equal(
            [(BlockKind.Server, "listening on", 2), (BlockKind.File, "Program.cs", 7), (BlockKind.Exit, "1", 11), (BlockKind.Plain, "", 14)],
            blocks.Select(b => (b.Kind, b.Argument, b.Line)));
        Assert.True(blocks[2].IsCommands);
        Assert.False(blocks[3].IsCommands);
    }

    [Fact]
    public void A_csharp_block_that_names_no_file_is_refused_since_nothing_would_build_it()
    {
        var blocks = ReadmeParser.Parse("R.md", "```csharp\nvar x = 1;\n```\n");

        var refused = Assert.Throws<FormatException>(() => ReadmeSession.Build(blocks, "/tmp"));
        Assert.Contains("R.md:1", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_marker_and_an_unclosed_fence_are_refused_with_the_line()
    {
        Assert.Contains("R.md:2", Assert.Throws<FormatException>(() => ReadmeParser.Parse("R.md", "<!-- skip: because -->\n```sh\nx\n```\n")).Message, StringComparison.Ordinal);
        Assert.Contains("R.md:1", Assert.Throws<FormatException>(() => ReadmeParser.Parse("R.md", "```sh\nx\n")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_test_suite_line_is_left_to_ci_and_servers_are_waited_for()
    {
        var session = ReadmeSession.Build(ReadmeParser.Parse("R.md", """
            ```sh
            dotnet test OnceHubStack.sln   # every test
            echo hi
            ```
            <!-- server: ready when it prints up -->
            ```sh
            serve
            ```
            """), "/logs");

        Assert.Equal((2, 1, 1), (session.Run, session.Servers, session.ByCi));
        Assert.DoesNotContain("\ndotnet test", session.Script, StringComparison.Ordinal);
        Assert.Contains("wait_ready '/logs/server-1.log' 'up' $!", session.Script, StringComparison.Ordinal);
    }
}
