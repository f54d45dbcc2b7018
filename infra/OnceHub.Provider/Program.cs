using OnceHub.Provider;
using OnceHub.Provider.Protocol;

// The engine runs: pulumi-resource-oncehub [flags...] <engine address>, and reads the port from stdout.
var commandLine = CommandLine.Parse(args);
await using var app = ProviderHost.Build(new ProviderHostOptions { CommandLine = commandLine });
var port = await ProviderHost.StartAsync(app);

Console.Out.WriteLine(port);
Console.Out.Flush();

ProviderHost.ConnectEngine(app, commandLine.EngineAddress);
await app.WaitForShutdownAsync();
