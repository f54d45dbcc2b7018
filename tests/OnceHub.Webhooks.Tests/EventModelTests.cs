using OnceHub.TestSupport;

namespace OnceHub.Webhooks.Tests;

public sealed class EventModelTests
{
    private static readonly string GeneratedFile = Path.Combine(Repository.Root, "contracts", "OnceHub.Webhooks", "Events", "EventModel.g.cs");

    [Fact]
    public void The_checked_in_event_types_are_what_the_schemas_generate()
    {
        var generated = EventModelGenerator.Generate();
        if (Environment.GetEnvironmentVariable("ONCEHUB_REGENERATE") == "1")
        {
            File.WriteAllText(GeneratedFile, generated);
        }

        var checkedIn = File.Exists(GeneratedFile) ? File.ReadAllText(GeneratedFile).ReplaceLineEndings("\n") : "(missing)";
        Assert.True(checkedIn == generated,
            $"{GeneratedFile} differs from what the schemas generate: run ONCEHUB_REGENERATE=1 dotnet test tests/OnceHub.Webhooks.Tests --filter EventModelTests, and commit the file");
    }
}
