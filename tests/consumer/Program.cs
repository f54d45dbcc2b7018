using OnceHub.Webhooks;

// The minimal receiver of the README: secrets and store from configuration, one handler per family.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddOnceHubWebhooks();

var app = builder.Build();
var handled = 0;
app.MapOnceHubWebhooks("/webhooks/oncehub", hooks => hooks
    .On("booking", (e, ct) => Count())
    .On("conversation", (e, ct) => Count()));
app.MapHealthChecks("/health");
app.MapGet("/handled", () => Volatile.Read(ref handled));
app.Run();

Task Count()
{
    Interlocked.Increment(ref handled);
    return Task.CompletedTask;
}
