using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Policies.SpendLimit;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Policies.SpendLimit;

public class SpendPricingTests
{
    private static readonly ModelPricing Cheap = new() { InputUsdPerMillion = 0.15m, OutputUsdPerMillion = 0.60m, CachedInputUsdPerMillion = 0.075m };
    private static readonly ModelPricing Dear = new() { InputUsdPerMillion = 2.5m, OutputUsdPerMillion = 10m };
    private static readonly ModelPricing Flat = new() { InputUsdPerMillion = 1m, OutputUsdPerMillion = 1m };

    private static readonly ProvidersConfig Providers = new()
    {
        Targets =
        [
            new ProviderTarget { Id = "primary", Provider = "openai", Models = [new ModelDefinition { Id = "gpt-4o-mini", Pricing = Cheap }, new ModelDefinition { Id = "o3" }] },
            new ProviderTarget { Id = "secondary", Provider = "openai", Model = "gpt-4o", Pricing = Dear, Models = [new ModelDefinition { Id = "gpt-4o-mini", Pricing = Dear }] },
            new ProviderTarget { Id = "flat", Provider = "openai", Pricing = Flat },
            new ProviderTarget { Id = "bare", Provider = "echo", Model = "echo-1" },
        ],
    };

    public static TheoryData<string?, string?, string?, string?> Resolutions() => new()
    {
        // target id, model, expected target, expected pricing (name)
        { null, "gpt-4o-mini", "primary", "cheap" },
        { null, "GPT-4O-MINI", "primary", "cheap" },
        { null, "gpt-4o", "secondary", "dear" },
        { "secondary", "gpt-4o-mini", "secondary", "dear" },
        { "SECONDARY", "gpt-4o", "secondary", "dear" },
        { "flat", "anything", "flat", "flat" },
        { "flat", null, "flat", "flat" },
        { "primary", "o3", "primary", null },
        { null, "o3", "primary", null },
        { null, "echo-1", "bare", null },
        { null, "unknown-model", null, null },
        { null, null, null, null },
        { "no-such-target", "gpt-4o", "secondary", "dear" },
        { "secondary", null, "secondary", "dear" },
    };

    [Theory]
    [MemberData(nameof(Resolutions))]
    public void The_price_comes_from_the_target_then_its_model_entry_then_its_own_pricing(string? targetId, string? model, string? expectedTarget, string? expectedPricing)
    {
        var (target, pricing) = SpendPricing.Resolve(Providers, targetId, model);

        Assert.Equal(expectedTarget, target?.Id);
        Assert.Same(expectedPricing switch { "cheap" => Cheap, "dear" => Dear, "flat" => Flat, _ => null }, pricing);
    }

    [Fact]
    public void A_known_cost_is_computed_to_the_nano_dollar()
    {
        // 1000 uncached × 0.15 + 500 cached × 0.075 + 200 × 0.60 per million = 0.0003075 USD.
        Assert.Equal(0.0003075m, SpendPricing.Cost(Cheap, 1500, 500, 200));

        // One token at 0.15 per million is 0.00000015 USD; rounding never rounds a cost down to zero.
        Assert.Equal(0.00000015m, SpendPricing.Cost(Cheap, 1, 0, 0));
        Assert.Equal(0.000000001m, SpendPricing.Cost(new ModelPricing { InputUsdPerMillion = 0.0001m }, 1, 0, 0));
    }

    [Fact]
    public void Odd_counts_are_clamped_and_absurd_prices_saturate_instead_of_throwing()
    {
        Assert.Equal(0m, SpendPricing.Cost(Dear, -5, -1, -7));
        Assert.Equal(SpendPricing.Cost(Dear, 10, 10, 0), SpendPricing.Cost(Dear, 10, 99, 0));
        Assert.Equal(decimal.MaxValue, SpendPricing.Cost(new ModelPricing { InputUsdPerMillion = decimal.MaxValue / 2 }, long.MaxValue, 0, 0));
    }

    /// <summary>Prices with up to 12 decimals and token counts up to a billion: decimal equals exact rational arithmetic.</summary>
    [Fact]
    public void Cost_is_exact_against_a_big_integer_reference()
    {
        var price = from whole in Gen.Choose(0, 4999)
                    from high in Gen.Choose(0, 999_999)
                    from low in Gen.Choose(0, 999_999)
                    select string.Create(CultureInfo.InvariantCulture, $"{whole}.{high:D6}{low:D6}");
        var tokens = Gen.Choose(0, 1_000_000_000).Select(static t => (long)t);
        var prices = from pin in price from pout in price from pcached in Gen.OneOf(price.Select(static p => (string?)p), Gen.Constant<string?>(null)) select (pin, pout, pcached);
        var counts = from prompt in tokens from completion in tokens from cached in tokens select (prompt, completion, cached);
        var gen = Gen.Zip(prices, counts);

        Properties.ForAll(gen, input =>
        {
            var ((pin, pout, pcached), (prompt, completion, cached)) = input;
            var pricing = new ModelPricing
            {
                InputUsdPerMillion = decimal.Parse(pin, CultureInfo.InvariantCulture),
                OutputUsdPerMillion = decimal.Parse(pout, CultureInfo.InvariantCulture),
                CachedInputUsdPerMillion = pcached is null ? null : decimal.Parse(pcached, CultureInfo.InvariantCulture),
            };

            var cost = SpendPricing.Cost(pricing, prompt, cached, completion);

            Assert.Equal(SpendTestKit.ReferenceCost(pin, pout, pcached, prompt, completion, cached), cost);
        }, maxTest: 500);
    }

    [Fact]
    public void The_estimator_matches_its_documented_rule_and_never_counts_fewer_than_a_quarter_of_the_bytes()
    {
        var text = Gen.Elements("", "a", "hello world", "caf\u00e9", "\u65e5\u672c\u8a9e\u306e\u6587", "\ud83d\ude00\ud83d\ude00", "\ud800", "\u200b\u200d", "line\nbreak\t", "{\"json\":[1,2,3]}");
        var texts = Gen.ListOf(text).Select(static l => l.ToArray());

        Properties.ForAll(texts, input =>
        {
            var layout = input.Select((t, i) => new Keeptrusts.Policy.Exchange.ChatText("user", Keeptrusts.Policy.Exchange.TextKind.Content, i, t, -1, 0)).ToList();

            var estimate = TokenEstimator.EstimatePromptTokens(input, layout);

            Assert.Equal(SpendTestKit.EstimatePromptTokens(input), estimate);
            Assert.True(estimate >= input.Sum(t => System.Text.Encoding.UTF8.GetByteCount(t)) / 4.0);
        });
    }

    [Fact]
    public void A_huge_text_is_estimated_without_overflow()
    {
        var huge = new string('x', 30_000_000);

        var estimate = TokenEstimator.EstimatePromptTokens([huge, huge, huge], [new("user", Keeptrusts.Policy.Exchange.TextKind.Content, 0, huge, -1, 0)]);

        Assert.Equal(3 + 4 + (3L * 10_000_000), estimate);
    }
}
