using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies;

namespace Keeptrusts.Policy.Tests.Policies.SpendLimit;

/// <summary>Configurations, OpenAI bodies and an independent cost reference for the spend-limit tests.</summary>
internal static class SpendTestKit
{
    public const string Model = "gpt-4o-mini";

    public static PolicyConfig Config(string settings, string pricing = "{ input_usd_per_million: 0.15, output_usd_per_million: 0.60, cached_input_usd_per_million: 0.075 }", string extraTargets = "")
    {
        var yaml = $"""
            pack: {"{"} name: spend, version: 1.0.0 {"}"}
            policies:
              chain: [spend-limit]
            policy:
              spend-limit: {settings}
            providers:
              targets:
                - id: openai-primary
                  provider: openai
                  base_url: https://api.openai.com
                  models:
                    - id: {Model}
                      pricing: {pricing}
            {extraTargets}
            """;
        var result = PolicyConfigLoader.Parse(yaml);
        Assert.False(result.HasErrors, string.Join("\n", result.Diagnostics));
        return result.Config!;
    }

    public static PolicyEngine Engine(PolicyConfig config, ISpendStore store, TimeProvider? time = null) =>
        PolicyEngine.Create(config, new PolicyEngineOptions { SpendStore = store, TimeProvider = time ?? new FakeTimeProvider(new DateTimeOffset(2025, 3, 14, 12, 0, 0, TimeSpan.Zero)) });

    /// <summary>A chat-completions request as the official SDKs send it.</summary>
    public static byte[] Request(string userText, long? maxCompletionTokens = null, string model = Model, string system = "You are a helpful assistant.")
    {
        var body = new Dictionary<string, object?>
        {
            ["model"] = model,
            ["messages"] = new object[]
            {
                new Dictionary<string, object?> { ["role"] = "system", ["content"] = system },
                new Dictionary<string, object?> { ["role"] = "user", ["content"] = userText },
            },
            ["temperature"] = 0.2,
        };
        if (maxCompletionTokens is { } max)
        {
            body["max_completion_tokens"] = max;
        }

        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    /// <summary>A non-streamed chat-completions response with a <c>usage</c> block, as OpenAI returns it.</summary>
    public static byte[] Response(long prompt, long completion, long cached = 0, string model = "gpt-4o-mini-2024-07-18") => Encoding.UTF8.GetBytes($$$"""
        {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741569952,"model":"{{{model}}}",
         "choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
         "usage":{"prompt_tokens":{{{prompt}}},"completion_tokens":{{{completion}}},"total_tokens":{{{prompt + completion}}},
                  "prompt_tokens_details":{"cached_tokens":{{{cached}}},"audio_tokens":0},
                  "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
         "service_tier":"default","system_fingerprint":"fp_06737a9306"}
        """);

    /// <summary>The documented estimator, written out independently: ceil(UTF-8 bytes / 3) per text, 4 per message, 3 per request.</summary>
    public static long EstimatePromptTokens(params string[] texts) =>
        3 + texts.Sum(t => (Encoding.UTF8.GetByteCount(t) + 2L) / 3) + (4L * texts.Length);

    /// <summary>
    /// The cost in exact rational arithmetic (BigInteger numerators over powers of ten), rounded up to 1e-9 USD:
    /// a reference that shares no arithmetic with the decimal implementation.
    /// </summary>
    public static decimal ReferenceCost(string input, string output, string? cachedInput, long prompt, long completion, long cached)
    {
        const int scale = 40;
        var pIn = Scaled(input, scale);
        var pOut = Scaled(output, scale);
        var pCached = cachedInput is null ? pIn : Scaled(cachedInput, scale);
        var cachedTokens = Math.Clamp(cached, 0, prompt);
        var numerator = ((prompt - cachedTokens) * pIn) + (cachedTokens * pCached) + (completion * pOut);

        // numerator / 10^scale USD per million → USD = numerator / 10^(scale + 6); nano-dollars = that × 10^9, rounded up.
        var divisor = BigInteger.Pow(10, scale + 6 - 9);
        var nanos = BigInteger.DivRem(numerator, divisor, out var remainder);
        if (remainder > 0)
        {
            nanos += 1;
        }

        return decimal.Parse(nanos.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) / 1_000_000_000m;
    }

    private static BigInteger Scaled(string number, int scale)
    {
        var dot = number.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? number : number[..dot];
        var fraction = dot < 0 ? string.Empty : number[(dot + 1)..];
        return BigInteger.Parse(whole + fraction.PadRight(scale, '0'), CultureInfo.InvariantCulture);
    }
}
