using System.Text.Json;
using System.Text.Json.Nodes;

namespace Keeptrusts.Policy.Tools;

/// <summary>A tool-governance violation found in a chat exchange: which tool, why, and the code the caller gets.</summary>
internal readonly record struct ToolViolation(string Tool, string Reason, string Code, string Finding);

/// <summary>
/// The tools an OpenAI chat-completions request offered the model, by name, with their parameter schemas; kept per
/// exchange so the answer's tool calls can be checked against them.
/// </summary>
internal sealed class OfferedTools
{
    public static readonly OfferedTools None = new([]);

    private readonly Dictionary<string, JsonElement> _parameters;
    private readonly Dictionary<string, ToolArgumentSchema?> _compiled = new(StringComparer.Ordinal);

    public OfferedTools(Dictionary<string, JsonElement> parameters) => _parameters = parameters;

    /// <summary>Checks the arguments of a call to <paramref name="name"/>: JSON, and valid against the offered schema when there is one.</summary>
    public string? CheckArguments(string name, string arguments)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(arguments.Length == 0 ? "{}" : arguments);
        }
        catch (JsonException)
        {
            return "$: the arguments are not valid JSON";
        }

        using (document)
        {
            if (!_parameters.TryGetValue(name, out var parameters))
            {
                return null;
            }

            ToolArgumentSchema? schema;
            lock (_compiled)
            {
                if (!_compiled.TryGetValue(name, out schema))
                {
                    _ = ToolArgumentSchema.TryCreate(parameters, out schema, out _);
                    _compiled[name] = schema;
                }
            }

            return schema?.Validate(document.RootElement);
        }
    }
}

/// <summary>
/// <c>tool-governance</c> on OpenAI chat completions: denied tools offered in a request are stripped (or the request
/// blocked), and tool calls in answers that name a denied tool or carry invalid arguments are blocked.
/// </summary>
internal static class ChatToolGovernance
{
    public const string DeniedCode = "tool_denied";
    public const string InvalidArgumentsCode = "invalid_tool_arguments";

    /// <summary>
    /// Applies the rules to a request's <c>tools</c>. Returns the body to evaluate on (the same bytes when nothing was
    /// stripped), the names stripped, a violation when the request must be refused, and the offered tools that remain.
    /// </summary>
    public static ReadOnlyMemory<byte> ApplyToRequest(ReadOnlyMemory<byte> body, ToolRules rules, List<ToolViolation> stripped, out ToolViolation? refusal, out OfferedTools offered)
    {
        refusal = null;
        offered = OfferedTools.None;
        if (body.Span.IndexOf("\"tools\""u8) < 0)
        {
            // Most requests offer no tools: no second parse for them.
            return body;
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body.Span);
        }
        catch (JsonException)
        {
            // The chat reader reports malformed bodies in its own words.
            return body;
        }

        if (root is not JsonObject request || request["tools"] is not JsonArray tools)
        {
            return body;
        }

        var parameters = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var keep = new JsonArray();
        foreach (var tool in tools)
        {
            var function = tool?["function"] as JsonObject;
            var name = function?["name"] is JsonValue n && n.TryGetValue<string>(out var s) ? s : null;
            if (name is null)
            {
                keep.Add(tool?.DeepClone());
                continue;
            }

            var decision = rules.Decide(name);
            if (!decision.IsAllowed && rules.IsEnforced)
            {
                var violation = new ToolViolation(name, decision.Reason, DeniedCode, "TOOL_DENIED");
                if (rules.OnViolation == ToolViolationAction.Block)
                {
                    refusal = violation;
                    return body;
                }

                stripped.Add(violation);
                continue;
            }

            if (function!["parameters"] is JsonObject schema)
            {
                parameters[name] = JsonSerializer.SerializeToElement(schema);
            }

            keep.Add(tool!.DeepClone());
        }

        offered = new OfferedTools(parameters);
        if (stripped.Count == 0)
        {
            return body;
        }

        if (keep.Count == 0)
        {
            // A request may not carry an empty tools array, nor a tool_choice without tools.
            request.Remove("tools");
            request.Remove("tool_choice");
            request.Remove("parallel_tool_calls");
        }
        else
        {
            request["tools"] = keep;
            if (request["tool_choice"]?["function"]?["name"] is JsonValue chosen && chosen.TryGetValue<string>(out var chosenName)
                && stripped.Exists(v => v.Tool == chosenName))
            {
                request["tool_choice"] = "auto";
            }
        }

        return JsonSerializer.SerializeToUtf8Bytes(request);
    }

    /// <summary>The first tool call of a non-streamed answer that the rules or the offered schemas refuse.</summary>
    public static ToolViolation? CheckResponse(ReadOnlySpan<byte> body, ToolRules rules, OfferedTools offered)
    {
        using var document = JsonDocument.Parse(body.ToArray());
        if (!document.RootElement.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        foreach (var choice in choices.EnumerateArray())
        {
            if (choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            foreach (var call in calls.EnumerateArray())
            {
                if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                var name = function.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : string.Empty;
                var arguments = function.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : string.Empty;
                if (CheckCall(name, arguments, rules, offered) is { } violation)
                {
                    return violation;
                }
            }
        }

        return null;
    }

    /// <summary>Checks one tool call the model asked for.</summary>
    public static ToolViolation? CheckCall(string name, string? arguments, ToolRules rules, OfferedTools offered)
    {
        if (!rules.IsEnforced)
        {
            return null;
        }

        var decision = rules.Decide(name);
        if (!decision.IsAllowed)
        {
            return new ToolViolation(name, "the answer calls a denied tool: " + decision.Reason, DeniedCode, "TOOL_DENIED");
        }

        if (arguments is not null && rules.ValidateArguments && offered.CheckArguments(name, arguments) is { } error)
        {
            return new ToolViolation(name, $"the answer calls tool '{ToolRules.Quote(name)}' with invalid arguments: {error}", InvalidArgumentsCode, "TOOL_ARGUMENTS_INVALID");
        }

        return null;
    }
}
