using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Keeptrusts.AspNetCore.Runtime;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Tools;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Keeptrusts.AspNetCore.Mcp;

/// <summary>
/// One caller's MCP session with one target, seen from the gateway: the ingress session (the caller's client) and,
/// opened on first use, the upstream session (the target's MCP server). Every tools/list and tools/call goes through
/// the current configuration's <c>tool-governance</c> rules and policy chain; a refused call never reaches the
/// upstream. Thread-safe: a session may carry concurrent requests.
/// </summary>
internal sealed class McpBridgeSession(string targetId, GatewayRuntime runtime, McpUpstreamConnector connector, IHttpContextAccessor http, RequestContext sessionCaller) : IAsyncDisposable
{
    public const string CallerKey = "keeptrusts.mcp.caller";
    public const string MetaProtocolVersion = "mcp.protocol_version";
    public const string MetaSessionId = "mcp.session_id";

    private readonly SemaphoreSlim _connect = new(1, 1);
    private readonly ConcurrentDictionary<string, ToolArgumentSchema> _schemas = new(StringComparer.Ordinal);
    private McpClient? _upstream;
    private McpServer? _ingress;
    private volatile IReadOnlyDictionary<string, Tool>? _tools;
    private int _disposed;

    public string TargetId { get; } = targetId;

    public void Configure(McpServerOptions options)
    {
        options.ServerInfo = new Implementation { Name = "keeptrusts-mcp-bridge", Version = typeof(McpBridgeSession).Assembly.GetName().Version?.ToString() ?? "0" };
        options.Capabilities = new ServerCapabilities
        {
            Tools = new ToolsCapability { ListChanged = true },
            Resources = new ResourcesCapability(),
            Prompts = new PromptsCapability(),
        };
        options.Handlers.ListToolsHandler = ListToolsAsync;
        options.Handlers.CallToolHandler = CallToolAsync;
        options.Handlers.ListResourcesHandler = (ctx, ct) => ForwardAsync(ctx.Server, (c, t) => c.ListResourcesAsync(ctx.Params ?? new(), t), ct);
        options.Handlers.ListResourceTemplatesHandler = (ctx, ct) => ForwardAsync(ctx.Server, (c, t) => c.ListResourceTemplatesAsync(ctx.Params ?? new(), t), ct);
        options.Handlers.ReadResourceHandler = (ctx, ct) => ForwardAsync(ctx.Server, (c, t) => c.ReadResourceAsync(ctx.Params ?? throw McpErrors.Create(McpErrors.InvalidParams, "resources/read needs params"), t), ct);
        options.Handlers.ListPromptsHandler = (ctx, ct) => ForwardAsync(ctx.Server, (c, t) => c.ListPromptsAsync(ctx.Params ?? new(), t), ct);
        options.Handlers.GetPromptHandler = (ctx, ct) => ForwardAsync(ctx.Server, (c, t) => c.GetPromptAsync(ctx.Params ?? throw McpErrors.Create(McpErrors.InvalidParams, "prompts/get needs params"), t), ct);
    }

    private async ValueTask<ListToolsResult> ListToolsAsync(RequestContext<ListToolsRequestParams> context, CancellationToken cancellationToken)
    {
        using var lease = AcquireSnapshot();
        var (snapshot, target) = (lease.Snapshot, TargetOf(lease.Snapshot));
        var tools = await FetchToolsAsync(context.Server, target, cancellationToken).ConfigureAwait(false);
        var rules = snapshot.Engine.Tools;
        var visible = new List<Tool>(tools.Count);
        foreach (var tool in tools.Values)
        {
            if (!rules.IsEnforced || rules.Decide(tool.Name).IsAllowed)
            {
                visible.Add(tool);
            }
        }

        return new ListToolsResult { Tools = visible };
    }

    private async ValueTask<CallToolResult> CallToolAsync(RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        var call = context.Params ?? throw McpErrors.Create(McpErrors.InvalidParams, "tools/call needs params with a tool name");
        using var lease = AcquireSnapshot();
        var snapshot = lease.Snapshot;
        var target = TargetOf(snapshot);
        var engine = snapshot.Engine;
        var rules = engine.Tools;
        var name = call.Name ?? string.Empty;
        var caller = (http.HttpContext?.Items[CallerKey] as RequestContext ?? sessionCaller) with
        {
            TargetId = TargetId,
            ToolName = name,
            ConversationId = context.Server.SessionId,
        };

        var exchange = engine.BeginExchange(caller);
        await using (exchange.ConfigureAwait(false))
        {
            // 1. Allowed at all? A denied tool never leaves the gateway.
            var decision = rules.Decide(name);
            if (!decision.IsAllowed)
            {
                await exchange.RecordToolDecisionAsync(PolicyPhase.Input, name, rules.IsEnforced ? PolicyDecision.Block : PolicyDecision.Flag, decision.Reason, rules.IsEnforced ? "tool_denied" : null, [new PolicyFinding(ToolRules.PolicyId, "TOOL_DENIED") { Detail = decision.Rule ?? "not on the allow list" }], cancellationToken).ConfigureAwait(false);
                if (rules.IsEnforced)
                {
                    throw McpErrors.Create(McpErrors.ToolDenied, decision.Reason);
                }
            }

            // 2. Bounded.
            var arguments = call.Arguments;
            var argumentBytes = arguments is null ? 0 : JsonSerializer.SerializeToUtf8Bytes(arguments, McpJson.Options).Length;
            if (argumentBytes > rules.MaxArgumentBytes)
            {
                await RefuseAsync(exchange, name, $"tool-call arguments of {argumentBytes} bytes exceed the limit of {rules.MaxArgumentBytes} bytes", "tool_arguments_too_large", "TOOL_PAYLOAD_TOO_LARGE", cancellationToken).ConfigureAwait(false);
                throw McpErrors.Create(McpErrors.TooLarge, $"the arguments of tool '{Quote(name)}' are {argumentBytes} bytes; the limit is {rules.MaxArgumentBytes}");
            }

            // 3. Shaped as the tool says.
            if (rules.ValidateArguments)
            {
                var error = await CheckArgumentsAsync(context.Server, target, name, arguments, cancellationToken).ConfigureAwait(false);
                if (error is not null)
                {
                    await RefuseAsync(exchange, name, error, "invalid_tool_arguments", "TOOL_ARGUMENTS_INVALID", cancellationToken).ConfigureAwait(false);
                    throw McpErrors.Create(McpErrors.InvalidParams, $"invalid arguments for tool '{Quote(name)}': {error}");
                }
            }

            // 4. Content policies on the argument strings (PII, secrets, injection).
            var texts = new List<string>();
            if (!McpArgumentTexts.TryCollect(arguments, texts))
            {
                await RefuseAsync(exchange, name, "tool-call arguments nest too deeply", "invalid_tool_arguments", "TOOL_ARGUMENTS_INVALID", cancellationToken).ConfigureAwait(false);
                throw McpErrors.Create(McpErrors.InvalidParams, $"the arguments of tool '{Quote(name)}' nest deeper than {McpArgumentTexts.MaxDepth} levels");
            }

            if (texts.Count > 0)
            {
                var input = await exchange.EvaluateTextsAsync(PolicyPhase.Input, [.. texts.Select(static t => new ExchangeText("assistant", ExchangeTextKind.ToolCallArguments, 0, t))], cancellationToken: cancellationToken).ConfigureAwait(false);
                if (input.IsBlocked)
                {
                    throw McpErrors.Create(McpErrors.ContentBlocked, $"the call to tool '{Quote(name)}' was blocked by {input.Record.BlockedBy}: {input.Record.Reason}");
                }

                if (!input.Texts.SequenceEqual(texts, StringComparer.Ordinal))
                {
                    arguments = McpArgumentTexts.Replace(arguments!, input.Texts);
                }
            }

            // 5. The upstream, with the bridge session in _meta.
            var meta = call.Meta is { } callerMeta ? (JsonObject)callerMeta.DeepClone() : [];
            meta[MetaProtocolVersion] = context.Server.NegotiatedProtocolVersion;
            meta[MetaSessionId] = context.Server.SessionId;
            var request = new CallToolRequestParams { Name = name, Arguments = arguments, Meta = meta };
            var result = await CallUpstreamAsync(context.Server, target, (client, ct) => client.CallToolAsync(request, ct), cancellationToken).ConfigureAwait(false);

            // 6. The result: bounded, then the output policies and (as the model's next input) the input policies.
            var resultBytes = JsonSerializer.SerializeToUtf8Bytes(result, McpJson.Options).Length;
            if (resultBytes > rules.MaxResultBytes)
            {
                await RefuseAsync(exchange, name, $"tool result of {resultBytes} bytes exceeds the limit of {rules.MaxResultBytes} bytes", "tool_result_too_large", "TOOL_PAYLOAD_TOO_LARGE", cancellationToken, PolicyPhase.Output).ConfigureAwait(false);
                throw McpErrors.Create(McpErrors.TooLarge, $"the result of tool '{Quote(name)}' is {resultBytes} bytes; the limit is {rules.MaxResultBytes}");
            }

            result = await GovernResultAsync(exchange, name, result, cancellationToken).ConfigureAwait(false);
            await exchange.RecordToolDecisionAsync(PolicyPhase.Output, name, PolicyDecision.Allow, decision.Reason, cancellationToken: cancellationToken).ConfigureAwait(false);
            return result;
        }
    }

    private static async ValueTask<CallToolResult> GovernResultAsync(PolicyExchange exchange, string name, CallToolResult result, CancellationToken cancellationToken)
    {
        var blocks = result.Content.OfType<TextContentBlock>().ToList();
        if (blocks.Count == 0)
        {
            return result;
        }

        var texts = blocks.Select(static b => new ExchangeText("tool", ExchangeTextKind.ToolResult, 1, b.Text)).ToArray();
        var output = await exchange.EvaluateTextsAsync(PolicyPhase.Output, texts, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (output.IsBlocked)
        {
            throw McpErrors.Create(McpErrors.ContentBlocked, $"the result of tool '{Quote(name)}' was blocked by {output.Record.BlockedBy}: {output.Record.Reason}");
        }

        // What a tool returns is what the model reads next: indirect injection is caught as input.
        var next = output.Texts.Select(static t => new ExchangeText("tool", ExchangeTextKind.ToolResult, 1, t)).ToArray();
        var input = await exchange.EvaluateTextsAsync(PolicyPhase.Input, next, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (input.IsBlocked)
        {
            throw McpErrors.Create(McpErrors.ContentBlocked, $"the result of tool '{Quote(name)}' was blocked by {input.Record.BlockedBy}: {input.Record.Reason}");
        }

        var changed = false;
        for (var i = 0; i < blocks.Count; i++)
        {
            if (!string.Equals(blocks[i].Text, input.Texts[i], StringComparison.Ordinal))
            {
                blocks[i].Text = input.Texts[i];
                changed = true;
            }
        }

        if (changed && result.StructuredContent is not null)
        {
            // Structured content would carry the unredacted values alongside the redacted text.
            result.StructuredContent = null;
        }

        return result;
    }

    private static ValueTask RefuseAsync(PolicyExchange exchange, string name, string reason, string code, string finding, CancellationToken cancellationToken, PolicyPhase phase = PolicyPhase.Input) =>
        new(exchange.RecordToolDecisionAsync(phase, name, PolicyDecision.Block, reason, code, [new PolicyFinding(ToolRules.PolicyId, finding)], cancellationToken).AsTask());

    private async ValueTask<string?> CheckArgumentsAsync(McpServer server, ProviderTarget target, string name, IDictionary<string, JsonElement>? arguments, CancellationToken cancellationToken)
    {
        var tools = _tools ?? await FetchToolsAsync(server, target, cancellationToken).ConfigureAwait(false);
        if (!tools.TryGetValue(name, out var tool))
        {
            // The list may be older than the tool; look once more before refusing.
            tools = await FetchToolsAsync(server, target, cancellationToken).ConfigureAwait(false);
            if (!tools.TryGetValue(name, out tool))
            {
                return $"target '{TargetId}' offers no tool named '{Quote(name)}'";
            }
        }

        if (!_schemas.TryGetValue(name, out var schema))
        {
            if (!ToolArgumentSchema.TryCreate(tool.InputSchema, out schema, out var schemaError))
            {
                return schemaError;
            }

            _schemas[name] = schema!;
        }

        var json = arguments is null ? default : JsonSerializer.SerializeToElement(arguments, McpJson.Options);
        return schema!.Validate(json);
    }

    private async ValueTask<IReadOnlyDictionary<string, Tool>> FetchToolsAsync(McpServer server, ProviderTarget target, CancellationToken cancellationToken)
    {
        var listed = await CallUpstreamAsync(server, target, static (client, ct) => client.ListToolsAsync(cancellationToken: ct), cancellationToken).ConfigureAwait(false);
        var tools = new Dictionary<string, Tool>(StringComparer.Ordinal);
        foreach (var tool in listed)
        {
            tools.TryAdd(tool.ProtocolTool.Name, tool.ProtocolTool);
        }

        _schemas.Clear();
        _tools = tools;
        return tools;
    }

    private async ValueTask<TResult> ForwardAsync<TResult>(McpServer server, Func<McpClient, CancellationToken, ValueTask<TResult>> call, CancellationToken cancellationToken)
    {
        using var lease = AcquireSnapshot();
        return await CallUpstreamAsync(server, TargetOf(lease.Snapshot), call, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<TResult> CallUpstreamAsync<TResult>(McpServer server, ProviderTarget target, Func<McpClient, CancellationToken, ValueTask<TResult>> call, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(target.TimeoutMs));
        try
        {
            var client = await UpstreamAsync(server, target, timeout.Token).ConfigureAwait(false);
            return await call(client, timeout.Token).ConfigureAwait(false);
        }
        catch (McpProtocolException)
        {
            // The upstream's own JSON-RPC error (unknown tool, its validation) goes back as it came.
            throw;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await ResetUpstreamAsync().ConfigureAwait(false);
            throw McpErrors.Create(McpErrors.UpstreamUnavailable, $"the MCP server of target '{TargetId}' did not answer within {target.TimeoutMs} ms");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or SocketException or McpException or InvalidOperationException or TimeoutException or JsonException)
        {
            await ResetUpstreamAsync().ConfigureAwait(false);
            throw McpErrors.Create(McpErrors.UpstreamUnavailable, $"the MCP server of target '{TargetId}' is unavailable: {Describe(ex)}");
        }
    }

    private async ValueTask<McpClient> UpstreamAsync(McpServer server, ProviderTarget target, CancellationToken cancellationToken)
    {
        _ingress ??= server;
        if (Volatile.Read(ref _upstream) is { } existing)
        {
            return existing;
        }

        await _connect.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return _upstream ??= await connector.ConnectAsync(target, OnToolsChangedAsync, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _connect.Release();
        }
    }

    private async ValueTask OnToolsChangedAsync(JsonRpcNotification notification, CancellationToken cancellationToken)
    {
        _tools = null;
        _schemas.Clear();
        if (_ingress is { } ingress)
        {
            await ingress.SendNotificationAsync(NotificationMethods.ToolListChangedNotification, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask ResetUpstreamAsync()
    {
        var upstream = Interlocked.Exchange(ref _upstream, null);
        _tools = null;
        if (upstream is not null)
        {
            try
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A broken connection may fail to close; the next call opens a new one either way.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private SnapshotLease AcquireSnapshot()
    {
        try
        {
            return runtime.Acquire();
        }
        catch (ObjectDisposedException)
        {
            throw McpErrors.Create(McpErrors.UpstreamUnavailable, "the gateway is shutting down");
        }
    }

    private ProviderTarget TargetOf(GatewaySnapshot snapshot) =>
        McpBridgeEndpoints.FindTarget(snapshot.Config, TargetId)
        ?? throw McpErrors.Create(McpErrors.UnknownTarget, $"target '{TargetId}' is no longer an MCP target of the running configuration");

    /// <summary>Transport failures are described by kind; their messages can carry URLs with credentials in them.</summary>
    private static string Describe(Exception ex) => ex switch
    {
        HttpRequestException { StatusCode: { } status } => $"it answered HTTP {(int)status}",
        HttpRequestException { InnerException: SocketException socket } => socket.SocketErrorCode == SocketError.ConnectionRefused ? "connection refused" : "connection failed (" + socket.SocketErrorCode + ")",
        HttpRequestException => "the connection failed",
        IOException => "the connection broke",
        JsonException => "it sent an invalid message",
        TimeoutException => "it did not answer in time",
        _ => "the session with it failed",
    };

    /// <summary>Tool names come from callers: messages quote a bounded prefix.</summary>
    private static string Quote(string value) => value.Length <= 100 ? value : value[..100] + "…";

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _connect.WaitAsync().ConfigureAwait(false);
        try
        {
            await ResetUpstreamAsync().ConfigureAwait(false);
        }
        finally
        {
            _connect.Release();
            _connect.Dispose();
        }
    }
}
