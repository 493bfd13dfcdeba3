namespace Keeptrusts.AspNetCore.Tests.TestSupport;

/// <summary>Configuration documents the tests run the gateway with.</summary>
internal static class Configs
{
    /// <summary>One OpenAI-compatible target at <paramref name="baseUrl"/>, with the given policy chain and settings.</summary>
    public static string OpenAI(string baseUrl, string chain = "[pii-detector]", string policy = "pii-detector: { action: redact }", string extra = "", string targetId = "primary", string model = "gpt-4o-mini") => $$"""
        pack: { name: gateway-tests, version: 0.1.0 }
        policies:
          chain: {{chain}}
        policy:
          {{policy}}
        providers:
          targets:
            - id: {{targetId}}
              provider: openai
              base_url: {{baseUrl}}
              models:
                - id: {{model}}
                - id: gpt-4o
        {{extra}}
        """;

    /// <summary>Two OpenAI-compatible targets, for pinning.</summary>
    public static string TwoTargets(string firstUrl, string secondUrl, string chain = "[pii-detector]", string policy = "pii-detector: { action: redact }") => $$"""
        pack: { name: gateway-tests, version: 0.1.0 }
        policies:
          chain: {{chain}}
        policy:
          {{policy}}
        providers:
          targets:
            - id: first
              provider: openai
              base_url: {{firstUrl}}
              models:
                - id: gpt-4o-mini
            - id: second
              provider: openai
              base_url: {{secondUrl}}
              models:
                - id: gpt-4o-mini
                - id: gpt-4o
        """;
}
