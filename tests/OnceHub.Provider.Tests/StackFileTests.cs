using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using OnceHub.Provider.Protocol;
using OnceHub.Provider.Tests.Harness;
using OnceHub.TestSupport;
using Pulumirpc;

namespace OnceHub.Provider.Tests;

/// <summary>Pulumi.yaml and the stack files against Pulumi's project schema and the provider's own schema.</summary>
[Collection(PluginCollection.Name)]
public sealed partial class StackFileTests(PluginBuild build)
{
    private const string Project = "oncehub-webhooks";

    private JsonNode ProjectFile => Yaml.Load(Path.Combine(build.RepoRoot, "Pulumi.yaml"))!;

    private JsonNode DevStack => Yaml.Load(Path.Combine(build.RepoRoot, "Pulumi.dev.yaml"))!;

    [Fact]
    public async Task Pulumi_yaml_is_valid_against_the_project_schema()
    {
        var schema = await SchemaValidation.LoadAsync("project.schema.json");
        var errors = schema.Validate(ProjectFile.ToJsonString());
        Assert.True(errors.Count == 0, SchemaValidation.Describe(errors));

        // The validator is not vacuous: a plugin entry without its path is refused.
        var broken = ProjectFile;
        broken["plugins"]!["providers"]![0]!.AsObject().Remove("path");
        Assert.NotEmpty(schema.Validate(broken.ToJsonString()));

        Assert.Equal(Project, (string?)ProjectFile["name"]);
        Assert.Equal("yaml", (string?)ProjectFile["runtime"]);
    }

    [Fact]
    public async Task The_packages_block_Pulumi_yaml_shows_for_a_consuming_project_is_valid_and_names_this_release()
    {
        // The commented block after the marker line, uncommented, is what a project using a released plugin writes.
        var lines = File.ReadAllLines(Path.Combine(build.RepoRoot, "Pulumi.yaml"));
        var start = Array.FindIndex(lines, l => l.StartsWith("# packages:", StringComparison.Ordinal));
        Assert.True(start >= 0, "Pulumi.yaml shows no '# packages:' block for a consuming project");
        var block = string.Join("\n", lines.Skip(start).TakeWhile(l => l.StartsWith("# ", StringComparison.Ordinal)).Select(l => l[2..]));
        var consuming = ProjectFile.DeepClone();
        consuming.AsObject().Remove("plugins");
        consuming["packages"] = Yaml.Parse(block)!["packages"]!.DeepClone();

        var schema = await SchemaValidation.LoadAsync("project.schema.json");
        var errors = schema.Validate(consuming.ToJsonString());
        Assert.True(errors.Count == 0, SchemaValidation.Describe(errors));
        var package = consuming["packages"]!["oncehub"]!;
        Assert.Equal("oncehub", (string?)package["source"]);
        Assert.Matches(@"^\d+\.\d+\.\d+$", (string?)package["version"]);
        Assert.StartsWith("github://api.github.com/", (string?)package["pluginDownloadURL"], StringComparison.Ordinal);
    }

    [Fact]
    public void Pulumi_yaml_loads_the_plugin_from_where_the_build_step_publishes_it()
    {
        var provider = Assert.Single(ProjectFile["plugins"]!["providers"]!.AsArray());
        Assert.Equal("oncehub", (string?)provider!["name"]);
        var folder = Path.GetFullPath((string)provider["path"]!, build.RepoRoot);
        Assert.Equal(Path.TrimEndingDirectorySeparator(build.PluginFolder), Path.TrimEndingDirectorySeparator(folder));
        Assert.True(File.Exists(Path.Combine(folder, PluginBuild.BinaryName)));
    }

    [Fact]
    public async Task Every_oncehub_type_and_property_Pulumi_yaml_uses_exists_in_the_schema()
    {
        var schema = await Schema();
        var resources = ProjectFile["resources"]!.AsObject();
        var oncehub = resources.Where(r => ((string)r.Value!["type"]!).StartsWith("oncehub:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(oncehub);

        foreach (var (name, resource) in oncehub)
        {
            var type = (string)resource!["type"]!;
            var spec = schema["resources"]![type];
            Assert.True(spec is not null, $"{name}: type {type} is not in the schema");
            foreach (var (property, _) in resource["properties"]!.AsObject())
            {
                Assert.True(spec!["inputProperties"]![property] is not null, $"{name}: {type} has no input '{property}'");
            }

            foreach (var required in spec!["requiredInputs"]!.AsArray())
            {
                Assert.True(resource["properties"]![(string)required!] is not null, $"{name}: required input '{required}' missing");
            }
        }

        // Every ${resource.property} read from an oncehub resource names an output of its type.
        var text = await File.ReadAllTextAsync(Path.Combine(build.RepoRoot, "Pulumi.yaml"));
        var references = Reference().Matches(text).Select(m => (Resource: m.Groups[1].Value, Property: m.Groups[2].Value)).ToList();
        Assert.Contains(references, r => r.Property == "secret");
        foreach (var (resource, property) in references.Where(r => oncehub.Any(o => o.Key == r.Resource)))
        {
            var type = (string)resources[resource]!["type"]!;
            Assert.True(property is "id" or "urn" || schema["resources"]![type]!["properties"]![property] is not null,
                $"${{{resource}.{property}}}: {type} has no output '{property}'");
        }

        // Secrets stay secret: the schema marks the output the stack exports.
        Assert.True((bool)schema["resources"]!["oncehub:index:Webhook"]!["properties"]!["secret"]!["secret"]!);
    }

    [Fact]
    public void The_contract_gate_runs_after_the_webhooks_with_the_secret_in_its_environment()
    {
        var resources = ProjectFile["resources"]!.AsObject();
        var gates = resources.Where(r => (string?)r.Value!["type"] == "command:local:Command"
            && r.Value["properties"]!["environment"]?["ONCEHUB_WEBHOOK_SECRET"] is not null).ToList();
        Assert.NotEmpty(gates);
        foreach (var (name, gate) in gates)
        {
            var create = (string)gate!["properties"]!["create"]!;
            Assert.Contains(" verify", create, StringComparison.Ordinal);
            Assert.DoesNotContain("--secret", create, StringComparison.Ordinal);
            Assert.Matches(@"^\$\{\w+\.secret\}$", (string)gate["properties"]!["environment"]!["ONCEHUB_WEBHOOK_SECRET"]!);
            Assert.NotEmpty(gate["properties"]!["triggers"]!.AsArray());
            Assert.NotEmpty(gate["options"]!["dependsOn"]!.AsArray());
        }
    }

    [Fact]
    public void The_contract_gate_runs_the_cli_built_once_not_dotnet_run_per_webhook()
    {
        var resources = ProjectFile["resources"]!.AsObject();
        var commands = resources.Where(r => (string?)r.Value!["type"] == "command:local:Command").ToList();
        // One resource builds the CLI; its output folder is where every gate runs it from.
        var (builderName, builder) = Assert.Single(commands, c => ((string)c.Value!["properties"]!["create"]!).StartsWith("dotnet build ", StringComparison.Ordinal));
        var step = Regex.Match((string)builder!["properties"]!["create"]!, @"^dotnet build (?<project>\S+) -c Release -o (?<out>\S+)$");
        Assert.True(step.Success, (string)builder["properties"]!["create"]!);
        var project = step.Groups["project"].Value;
        Assert.True(File.Exists(Path.Combine(build.RepoRoot, project, Path.GetFileName(project) + ".csproj")), project);
        var dll = $"dotnet {step.Groups["out"].Value}/{Path.GetFileName(project)}.dll verify";

        var gates = commands.Where(c => c.Key != builderName).ToList();
        Assert.Equal(2, gates.Count);
        foreach (var (name, gate) in gates)
        {
            var create = (string)gate!["properties"]!["create"]!;
            Assert.DoesNotContain("dotnet run", create, StringComparison.Ordinal);
            // Both branches (deployed receiver, bundled receiver) run the built program.
            Assert.Equal(2, Regex.Matches(create, Regex.Escape(dll)).Count);
            Assert.Contains("${" + builderName + "}", gate["options"]!["dependsOn"]!.AsArray().Select(d => (string?)d), StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Each stack file against what it configures: the project's declared config and the provider's config
    /// schema; then the provider accepts its config and the webhooks Pulumi.yaml declares, with its values.
    /// </summary>
    [Theory]
    [InlineData("dev")]
    [InlineData("staging")]
    [InlineData("production")]
    public async Task A_stack_file_sets_only_declared_config_with_values_the_provider_accepts(string stack)
    {
        var schema = await Schema();
        var file = Yaml.Load(Path.Combine(build.RepoRoot, $"Pulumi.{stack}.yaml"))!;
        var declared = ProjectFile["config"]!.AsObject();
        var config = file["config"]!.AsObject();
        var providerConfig = new Struct();
        foreach (var (key, value) in config)
        {
            var (ns, name) = (key[..key.IndexOf(':')], key[(key.IndexOf(':') + 1)..]);
            if (ns == "oncehub")
            {
                var variable = schema["config"]!["variables"]![name];
                Assert.True(variable is not null, $"{key} is not a config variable of the oncehub provider");
                Assert.Equal((string)variable!["type"]!, value!.GetValueKind() is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False ? "boolean" : "string");
                providerConfig.Fields[name] = value.GetValueKind() == System.Text.Json.JsonValueKind.String
                    ? Value.ForString((string)value!)
                    : Value.ForBool((bool)value!);
            }
            else
            {
                Assert.Equal(Project, ns);
                Assert.True(declared[name] is not null, $"{key} is not declared in Pulumi.yaml's config");
                var kind = value!.GetValueKind() == System.Text.Json.JsonValueKind.Array ? "array" : "string";
                Assert.Equal((string)declared[name]!["type"]!, kind);
            }
        }

        // No stack file holds an API key: the dev account is a file: folder, and CI hands the others theirs
        // through the provider's environment variable.
        Assert.DoesNotContain("oncehub:apiKey", config.Select(c => c.Key));
        var remote = stack != "dev";
        if (remote)
        {
            Assert.StartsWith("https://", (string?)config["oncehub:apiUrl"], StringComparison.Ordinal);
            Assert.Equal("deployed", (string?)config[$"{Project}:contractGate"]);
            // the file says how CI sets the key, and how a person does
            var text = File.ReadAllText(Path.Combine(build.RepoRoot, $"Pulumi.{stack}.yaml"));
            Assert.Contains(ProviderConfig.ApiKeyEnvironmentVariable, text, StringComparison.Ordinal);
            Assert.Contains($"pulumi config set --secret oncehub:apiKey -s {stack}", text, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("passphrase", (string?)file["secretsprovider"]);
        }

        var environment = remote ? new Dictionary<string, string> { [ProviderConfig.ApiKeyEnvironmentVariable] = "stack-file-test-key" } : null;
        await using var session = await ProviderSession.StartAsync(Directory.CreateTempSubdirectory($"oncehub-{stack}-").FullName, environment);
        var checkedConfig = await session.Client.CheckConfigAsync(new CheckRequest { News = providerConfig });
        Assert.Empty(checkedConfig.Failures);
        await session.Client.ConfigureAsync(new ConfigureRequest { Args = providerConfig });

        // The webhooks Pulumi.yaml declares pass Check with the stack's values (the project's defaults where it sets none).
        var receiver = (string)config[$"{Project}:receiverUrl"]!;
        foreach (var (name, resource) in ProjectFile["resources"]!.AsObject().Where(r => (string?)r.Value!["type"] == "oncehub:index:Webhook"))
        {
            var url = ((string)resource!["properties"]!["url"]!).Replace("${receiverUrl}", receiver, StringComparison.Ordinal);
            var eventsFrom = (string)resource["properties"]!["events"]!;
            Assert.Matches(@"^\$\{\w+\}$", eventsFrom);
            var key = eventsFrom[2..^1];
            var events = (config[$"{Project}:{key}"] ?? declared[key]!["default"])!.AsArray().Select(e => (string)e!).ToArray();
            var check = await session.CheckAsync(name, Props.Webhook(null, url, events));
            Assert.Empty(check.Failures);
        }
    }

    private async Task<JsonNode> Schema()
    {
        await using var session = await ProviderSession.StartAsync();
        return JsonNode.Parse((await session.Client.GetSchemaAsync(new GetSchemaRequest())).Schema)!;
    }

    [GeneratedRegex(@"\$\{([A-Za-z][\w-]*)\.(\w+)\}")]
    private static partial Regex Reference();
}
