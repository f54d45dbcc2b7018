using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using OnceHub.Api;
using OnceHub.Provider.Resources;
using OnceHub.Provider.Schema;
using Pulumirpc;

namespace OnceHub.Provider.Protocol;

/// <summary>Creates the API client for a checked configuration.</summary>
public delegate IWebhookApi WebhookApiFactory(ProviderSettings settings);

/// <summary>What the provider reads of the process it runs in, given rather than read, so a test host can set it.</summary>
/// <param name="WorkingDirectory">Relative <c>file:</c> accounts resolve against it (the engine starts plugins in the project folder).</param>
/// <param name="Variable">Environment variables (<c>ONCEHUB_API_KEY</c>).</param>
public sealed record ProviderEnvironment(string WorkingDirectory, Func<string, string?> Variable);

/// <summary>
/// <c>pulumirpc.ResourceProvider</c>: decodes requests, routes them to the resource, encodes answers
/// and turns every failure into one readable gRPC status. RPCs not declared in the .proto (Invoke,
/// Call, Construct, ...) answer UNIMPLEMENTED on their own.
/// </summary>
public sealed class ResourceProviderService(
    WebhookApiFactory apiFactory,
    ProviderEnvironment environment,
    WebhookResource webhooks,
    EngineLog engine,
    Redactor redactor,
    ILogger<ResourceProviderService> logger,
    IHostApplicationLifetime lifetime) : ResourceProvider.ResourceProviderBase, IDisposable
{
    private readonly CancellationTokenSource _cancelled = new();
    private readonly Lock _gate = new();
    private ProviderSettings? _settings;
    private IWebhookApi? _api;

    public override Task<ProviderHandshakeResponse> Handshake(ProviderHandshakeRequest request, ServerCallContext context)
    {
        engine.Connect(request.EngineAddress);
        return Task.FromResult(new ProviderHandshakeResponse
        {
            AcceptSecrets = true,
            AcceptResources = true,
            AcceptOutputs = false,
            SupportsAutonamingConfiguration = true,
        });
    }

    public override Task<Empty> Attach(PluginAttach request, ServerCallContext context)
    {
        engine.Connect(request.Address);
        return Task.FromResult(new Empty());
    }

    public override Task<PluginInfo> GetPluginInfo(Empty request, ServerCallContext context) =>
        Task.FromResult(new PluginInfo { Version = PackageSchema.Version });

    public override Task<GetSchemaResponse> GetSchema(GetSchemaRequest request, ServerCallContext context)
    {
        if (!string.IsNullOrEmpty(request.SubpackageName))
        {
            throw RpcErrors.Create(StatusCode.InvalidArgument, $"The oncehub provider has no sub-package '{request.SubpackageName}'.", redactor);
        }

        return Task.FromResult(new GetSchemaResponse { Schema = PackageSchema.Text });
    }

    public override Task<CheckResponse> CheckConfig(CheckRequest request, ServerCallContext context)
    {
        var (settings, failures) = ParseConfig(request.News);
        RememberSensitive(settings);
        var response = new CheckResponse();
        if (failures.Count > 0)
        {
            response.Failures.AddRange(failures.Select(ToProto));
        }
        else
        {
            // Inputs go back as given, so the engine's view (and its secret markings) stays the user's.
            response.Inputs = request.News ?? new Struct();
        }

        return Task.FromResult(response);
    }

    public override Task<DiffResponse> DiffConfig(DiffRequest request, ServerCallContext context)
    {
        // A different account makes existing webhooks unreachable: replace the provider (and so them).
        var response = new DiffResponse { HasDetailedDiff = true };
        var olds = request.OldInputs is { Fields.Count: > 0 } ? request.OldInputs : request.Olds;
        foreach (var key in new[] { ProviderConfig.ApiUrl, ProviderConfig.ApiKey, ProviderConfig.AllowInsecureUrls })
        {
            // An unset key means its default: spelling the default out is no change (and no replacement).
            var before = Plain(olds, key) ?? ProviderConfig.DefaultText(key);
            var after = Plain(request.News, key) ?? ProviderConfig.DefaultText(key);
            if (Equals(before, after))
            {
                continue;
            }

            var replace = key == ProviderConfig.ApiUrl;
            var kind = (before, after) switch
            {
                (null, _) => replace ? PropertyDiff.Types.Kind.AddReplace : PropertyDiff.Types.Kind.Add,
                (_, null) => replace ? PropertyDiff.Types.Kind.DeleteReplace : PropertyDiff.Types.Kind.Delete,
                _ => replace ? PropertyDiff.Types.Kind.UpdateReplace : PropertyDiff.Types.Kind.Update,
            };
            response.Diffs.Add(key);
            response.DetailedDiff[key] = new PropertyDiff { Kind = kind, InputDiff = true };
            if (replace)
            {
                response.Replaces.Add(key);
            }
        }

        response.Changes = response.Diffs.Count > 0 ? DiffResponse.Types.DiffChanges.DiffSome : DiffResponse.Types.DiffChanges.DiffNone;
        return Task.FromResult(response);
    }

    public override async Task<ConfigureResponse> Configure(ConfigureRequest request, ServerCallContext context)
    {
        var config = request.Args is { Fields.Count: > 0 } ? request.Args : ProviderConfig.FromVariables(request.Variables);
        var (settings, failures) = ParseConfig(config);
        RememberSensitive(settings);
        if (failures.Count > 0)
        {
            throw RpcErrors.Create(StatusCode.InvalidArgument,
                "The oncehub provider configuration is invalid: " + string.Join(" ", failures.Select(f => f.Reason)), redactor);
        }

        IWebhookApi? api = null;
        if (settings is not null)
        {
            try
            {
                api = apiFactory(settings);
            }
            catch (OnceHubApiException e)
            {
                throw RpcErrors.FromApi(e, "opening the account", redactor);
            }
            catch (ArgumentException e)
            {
                throw RpcErrors.Create(StatusCode.InvalidArgument, "The oncehub provider configuration is invalid: " + RpcErrors.Sentence(e.Message), redactor);
            }
        }

        lock (_gate)
        {
            _api?.Dispose();
            _api = api;
            _settings = settings;
        }

        await engine.DebugAsync(settings is null
            ? "oncehub: configuration not known yet (preview)."
            : $"oncehub: using {(settings.IsLocalAccount ? "the local account at " + settings.ApiUrl.LocalPath : settings.ApiUrl.GetLeftPart(UriPartial.Path))}.");

        return new ConfigureResponse
        {
            AcceptSecrets = true,
            SupportsPreview = true,
            AcceptResources = true,
            AcceptOutputs = false,
            SupportsAutonamingConfiguration = true,
        };
    }

    public override async Task<CheckResponse> Check(CheckRequest request, ServerCallContext context)
    {
        RequireWebhook(request.Type, request.Urn);
        var naming = new Autonaming(
            string.IsNullOrEmpty(request.Name) ? NameOf(request.Urn) : request.Name,
            request.RandomSeed.Memory,
            request.Autonaming is null ? null : request.Autonaming.Mode switch
            {
                CheckRequest.Types.AutonamingOptions.Types.Mode.Enforce => AutonameMode.Enforce,
                CheckRequest.Types.AutonamingOptions.Types.Mode.Disable => AutonameMode.Disable,
                _ => AutonameMode.Propose,
            },
            request.Autonaming?.ProposedName);

        var (news, unreadable) = WebhookCodec.DecodeCheck(request.News);
        var result = webhooks.Check(new WebhookCheck(
            news, WebhookCodec.DecodeLenient(request.Olds), naming, Settings()?.AllowInsecureUrls ?? false));

        // A property that could not be read already has its failure; the resource saw it as absent.
        var failures = unreadable.Concat(result.Failures.Where(f => unreadable.All(u => u.Property != f.Property)));
        var response = new CheckResponse();
        if (result.Inputs is not null && unreadable.Count == 0)
        {
            response.Inputs = WebhookCodec.EncodeInputs(result.Inputs);
        }

        response.Failures.AddRange(failures.Select(ToProto));

        // CheckResponse carries failures only: a warning goes to the engine's log against the resource.
        foreach (var warning in result.Warnings)
        {
            await engine.WarningAsync("oncehub: " + warning, request.Urn);
        }

        return response;
    }

    public override async Task<DiffResponse> Diff(DiffRequest request, ServerCallContext context)
    {
        RequireWebhook(request.Type, request.Urn);
        var result = WebhookResource.Diff(new WebhookDiff(
            WebhookCodec.DecodeOld(request.Olds, request.OldInputs), WebhookCodec.DecodeLenient(request.News), [.. request.IgnoreChanges]));
        var response = new DiffResponse
        {
            Changes = result.Changes.Count > 0 ? DiffResponse.Types.DiffChanges.DiffSome : DiffResponse.Types.DiffChanges.DiffNone,
            DeleteBeforeReplace = result.DeleteBeforeReplace,
            HasDetailedDiff = true,
        };
        foreach (var (key, kind) in result.Changes)
        {
            response.Diffs.Add(key);
            response.Replaces.Add(key);
            response.DetailedDiff[key] = new PropertyDiff
            {
                InputDiff = true,
                Kind = kind switch
                {
                    ChangeKind.Add => PropertyDiff.Types.Kind.AddReplace,
                    ChangeKind.Delete => PropertyDiff.Types.Kind.DeleteReplace,
                    _ => PropertyDiff.Types.Kind.UpdateReplace,
                },
            };
        }

        // Diff runs during the preview: the user learns what the replacement costs before it happens.
        foreach (var warning in result.Warnings)
        {
            await engine.WarningAsync("oncehub: " + warning, request.Urn);
        }

        return response;
    }

    public override Task<CreateResponse> Create(CreateRequest request, ServerCallContext context) =>
        Guard(context, $"creating webhook '{NameIn(request.Properties)}'", async token =>
        {
            RequireWebhook(request.Type, request.Urn);
            var inputs = WebhookCodec.DecodeCreate(request.Properties);
            if (request.Preview)
            {
                return new CreateResponse { Properties = WebhookCodec.EncodePlan(inputs) };
            }

            var result = await webhooks.CreateAsync(Api(), inputs, token);
            await engine.DebugAsync($"oncehub: created webhook {result.Id}.", request.Urn);
            if (result.SecretMissing)
            {
                await engine.WarningAsync(
                    $"oncehub: OnceHub did not return the signing secret of webhook {result.Id}; replace it (pulumi up --replace) to get one.",
                    request.Urn);
            }

            return new CreateResponse { Id = result.Id, Properties = WebhookCodec.EncodeState(result.State, WebhookCodec.SecretInputs(inputs)) };
        });

    public override Task<ReadResponse> Read(ReadRequest request, ServerCallContext context) =>
        Guard(context, $"reading webhook {request.Id}", async token =>
        {
            RequireWebhook(request.Type, request.Urn);
            RequireId(request.Id);
            var result = await webhooks.ReadAsync(Api(), request.Id, WebhookCodec.DecodeSecret(request.Properties), token);
            if (result is null)
            {
                await engine.DebugAsync($"oncehub: webhook {request.Id} no longer exists.", request.Urn);
                return new ReadResponse();
            }

            // Keep a secret marking the user chose for an input, and whether the provider chose the name:
            // a refresh stores these inputs as the old ones.
            var oldInputs = WebhookCodec.DecodeLenient(request.Inputs);
            var secret = WebhookCodec.SecretInputs(oldInputs, WebhookCodec.DecodeLenient(request.Properties));
            return new ReadResponse
            {
                Id = result.Id,
                Properties = WebhookCodec.EncodeState(result.State, secret),
                Inputs = WebhookCodec.EncodeStateInputs(result.State, secret, oldInputs.NameGenerated),
            };
        });

    public override Task<UpdateResponse> Update(UpdateRequest request, ServerCallContext context) =>
        throw RpcErrors.Create(StatusCode.FailedPrecondition,
            "A OnceHub webhook cannot be updated in place, because OnceHub has no update API: every change to name, url or events replaces it.",
            redactor);

    public override Task<Empty> Delete(DeleteRequest request, ServerCallContext context) =>
        Guard(context, $"deleting webhook {request.Id}", async token =>
        {
            RequireWebhook(request.Type, request.Urn);
            RequireId(request.Id);
            var deleted = await WebhookResource.DeleteAsync(Api(), request.Id, token);
            await engine.DebugAsync(deleted
                ? $"oncehub: deleted webhook {request.Id}."
                : $"oncehub: webhook {request.Id} was already gone.", request.Urn);
            return new Empty();
        });

    public override Task<Empty> Cancel(Empty request, ServerCallContext context)
    {
        // Abort what is in flight, then leave once this answer is out (the host drains open calls).
        _cancelled.Cancel();
        lifetime.StopApplication();
        return Task.FromResult(new Empty());
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _api?.Dispose();
            _api = null;
        }

        _cancelled.Dispose();
    }

    private async Task<T> Guard<T>(ServerCallContext context, string doing, Func<CancellationToken, Task<T>> operation)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _cancelled.Token);
        try
        {
            return await operation(linked.Token);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (OnceHubApiException e)
        {
            var error = RpcErrors.FromApi(e, doing, redactor);
            logger.LogWarning("{Error}", error.Status.Detail);
            throw error;
        }
        catch (PropertyTypeException e)
        {
            throw RpcErrors.Create(StatusCode.InvalidArgument, $"Failed {doing}: {e.Message}", redactor);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            throw RpcErrors.Create(StatusCode.Cancelled, $"Cancelled while {doing}.", redactor);
        }
        catch (InvalidOperationException e)
        {
            throw RpcErrors.Create(StatusCode.FailedPrecondition, $"Failed {doing}: {RpcErrors.Sentence(e.Message)}", redactor);
        }
        catch (Exception e)
        {
            logger.LogError("Unexpected {Type} while {Doing}: {Message}", e.GetType().Name, doing, redactor.Redact(e.Message));
            throw RpcErrors.Create(StatusCode.Internal, $"Unexpected error while {doing}: {RpcErrors.Sentence(e.Message)}", redactor);
        }
    }

    private (ProviderSettings? Settings, IReadOnlyList<Failure> Failures) ParseConfig(Struct? config) =>
        ProviderConfig.Parse(config, environment.WorkingDirectory, environment.Variable);

    private void RememberSensitive(ProviderSettings? settings) => redactor.Add(settings?.ApiKey);

    private ProviderSettings? Settings()
    {
        lock (_gate)
        {
            return _settings;
        }
    }

    private IWebhookApi? Api()
    {
        lock (_gate)
        {
            return _api;
        }
    }

    private void RequireWebhook(string type, string urn)
    {
        var token = string.IsNullOrEmpty(type) ? TypeOf(urn) : type;
        if (token != WebhookResource.Token)
        {
            throw RpcErrors.Create(StatusCode.InvalidArgument,
                $"The oncehub provider has no resource type '{token}'; it offers {WebhookResource.Token}.", redactor);
        }
    }

    private void RequireId(string id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            throw RpcErrors.Create(StatusCode.InvalidArgument, "A webhook id (WHK-...) is required.", redactor);
        }
    }

    private static CheckFailure ToProto(Failure f) => new() { Property = f.Property, Reason = f.Reason };

    // urn:pulumi:<stack>::<project>::<parent types$>type::<name>
    private static string TypeOf(string urn)
    {
        var parts = urn.Split("::");
        if (parts.Length < 4)
        {
            return string.Empty;
        }

        var type = parts[2];
        var dollar = type.LastIndexOf('$');
        return dollar >= 0 ? type[(dollar + 1)..] : type;
    }

    private static string NameOf(string urn)
    {
        var parts = urn.Split("::");
        return parts.Length >= 4 ? string.Join("::", parts[3..]) : "webhook";
    }

    private static string NameIn(Struct? properties)
    {
        try
        {
            return new PropertyReader(properties).String(WebhookResource.Name) is { Known: true, Secret: false } n ? n.Value! : "(unnamed)";
        }
        catch (PropertyTypeException)
        {
            return "(unnamed)";
        }
    }

    // Config values compared as plain text (secret wrappers and all), never shown.
    private static string? Plain(Struct? properties, string key)
    {
        if (properties is null || !properties.Fields.TryGetValue(key, out var value))
        {
            return null;
        }

        var secret = false;
        var inner = PropertyReader.Unwrap(value, ref secret);
        return inner.KindCase switch
        {
            Value.KindOneofCase.NullValue or Value.KindOneofCase.None => null,
            Value.KindOneofCase.StringValue => inner.StringValue,
            Value.KindOneofCase.BoolValue => inner.BoolValue ? "true" : "false",
            Value.KindOneofCase.NumberValue => inner.NumberValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            _ => inner.KindCase.ToString(),
        };
    }
}
