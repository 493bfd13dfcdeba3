using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Conformance;

/// <summary>The configurations of the table. Each routes to an echo target, so the gateway surfaces need no provider.</summary>
public static class Configs
{
    public const string Standard = "standard";
    public const string PiiBlock = "pii-block";
    public const string ToolsBlock = "tools-block";
    public const string ToolsStrip = "tools-strip";

    private const string Provider = """
        providers:
          targets:
            - id: echo
              provider: echo
              model: echo-1
        """;

    /// <summary>
    /// A configuration with its provider section swapped for one OpenAI-compatible target at <paramref name="baseUrl"/>:
    /// the gateways then answer through the echo upstream of the suite, which cuts streams in the pattern under test.
    /// </summary>
    public static string WithUpstream(string name, string baseUrl) =>
        All[name].Replace(Provider, $$"""
            providers:
              targets:
                - id: echo
                  provider: openai
                  base_url: {{baseUrl}}
                  model: echo-1
            """, StringComparison.Ordinal);

    public static IReadOnlyDictionary<string, string> All { get; } = new Dictionary<string, string>
    {
        [Standard] = """
            pack: { name: conformance, version: 1.0.0 }
            policies:
              chain: [prompt-injection, content-filter, pii-detector]
            policy:
              prompt-injection: { action: block }
              content-filter:
                action: block
                input: { deny_keywords: [project falcon] }
                output: { deny_keywords: [classified] }
              pii-detector: { action: redact }
            """ + "\n" + Provider,
        [PiiBlock] = """
            pack: { name: conformance-pii-block, version: 1.0.0 }
            policies:
              chain: [pii-detector]
            policy:
              pii-detector: { action: block, entities: [EMAIL_ADDRESS, CREDIT_CARD] }
            """ + "\n" + Provider,
        [ToolsBlock] = """
            pack: { name: conformance-tools-block, version: 1.0.0 }
            policies:
              chain: [tool-governance, pii-detector]
            policy:
              tool-governance: { allow: ["lookup_*"], deny: [lookup_admin], on_violation: block }
              pii-detector: { action: redact }
            """ + "\n" + Provider,
        [ToolsStrip] = """
            pack: { name: conformance-tools-strip, version: 1.0.0 }
            policies:
              chain: [tool-governance, pii-detector]
            policy:
              tool-governance: { allow: ["lookup_*"], deny: [lookup_admin], on_violation: strip }
              pii-detector: { action: redact }
            """ + "\n" + Provider,
    };

    public static PolicyConfig Load(string name)
    {
        var result = PolicyConfigLoader.Parse(All[name], name + ".yaml");
        return result.Config ?? throw new InvalidOperationException(string.Join("\n", result.Diagnostics));
    }

    public static PolicyEngine Engine(string name, IDecisionSink sink)
    {
        var options = new PolicyEngineOptions();
        options.Sinks.Add(sink);
        return PolicyEngine.Create(Load(name), options);
    }
}
