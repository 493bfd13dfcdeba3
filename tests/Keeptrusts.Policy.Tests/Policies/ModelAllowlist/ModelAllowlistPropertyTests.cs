using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Tests.TestSupport;
using static Keeptrusts.Policy.Tests.Policies.ModelAllowlist.ModelAllowlistTesting;

namespace Keeptrusts.Policy.Tests.Policies.ModelAllowlist;

/// <summary>The decision rules of model-allowlist, as properties.</summary>
public class ModelAllowlistPropertyTests
{
    // A small alphabet so that generated patterns and ids often match, and often nearly match.
    private const string IdChars = "gpt-4o.:/_aA";

    private static readonly Gen<string> ModelId = Gen.Elements(IdChars.ToCharArray()).ListOf().Select(static l => new string([.. l.Take(10)]));

    private static readonly Gen<string> Pattern =
        Gen.Elements((IdChars + "**?").ToCharArray()).NonEmptyListOf().Select(static l => new string([.. l.Take(8)]));

    private static readonly Gen<string[]> Patterns = Pattern.ListOf().Select(static l => l.Take(4).ToArray());

    private static readonly Gen<bool[]> CaseMasks = Gen.Elements(true, false).ArrayOf();

    /// <summary>The reference: a glob is a whole-string regex where '*' is '.*' and '?' is '.', ignoring case.</summary>
    private static bool ReferenceMatch(string pattern, string model)
    {
        var regex = "^" + string.Concat(pattern.Select(static c => c switch { '*' => ".*", '?' => ".", _ => Regex.Escape(c.ToString()) })) + "$";
        return Regex.IsMatch(model, regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    private static string Recase(string s, bool[] mask) =>
        new([.. s.Select((c, i) => mask.Length > 0 && mask[i % mask.Length] ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c))]);

    [Fact]
    public void A_model_is_allowed_exactly_when_some_pattern_matches_it()
    {
        Properties.ForAll(Gen.Zip(ModelId.Where(static m => m.Length > 0), Patterns), c =>
        {
            var (model, patterns) = c;
            var verdict = Evaluate(Allowlist(patterns), model);

            var expected = patterns.Length == 0 || patterns.Any(p => ReferenceMatch(p, model));
            Assert.Equal(expected, verdict.Decision == PolicyDecision.Allow);
            if (!expected)
            {
                Assert.Equal((PolicyErrors.ForbiddenStatus, "model_not_allowed"), (verdict.Status, verdict.Code));
                Assert.Equal("MODEL_NOT_ALLOWED", Assert.Single(verdict.Findings).Type);
                Assert.Contains("'" + model + "'", verdict.Reason!, StringComparison.Ordinal);
                Assert.All(patterns, p => Assert.Contains(p, verdict.Reason!, StringComparison.Ordinal));
            }
        }, maxTest: 1000);
    }

    [Fact]
    public void Case_never_matters()
    {
        var gen = from model in ModelId.Where(static m => m.Length > 0)
                  from patterns in Patterns
                  from modelMask in CaseMasks
                  from patternMask in CaseMasks
                  select (model, patterns, modelMask, patternMask);

        Properties.ForAll(gen, c =>
        {
            var original = Evaluate(Allowlist(c.patterns), c.model).Decision;
            var recased = Evaluate(Allowlist([.. c.patterns.Select(p => Recase(p, c.patternMask))]), Recase(c.model, c.modelMask)).Decision;

            Assert.Equal(original, recased);
        }, maxTest: 500);
    }

    [Fact]
    public void The_decision_never_depends_on_the_texts()
    {
        var gen = from model in Gen.Elements("gpt-4o", "gpt-4o-mini", "o3", "claude-3-opus", null)
                  from target in Gen.Elements("openai-primary", "OPENAI-PRIMARY", "other", null)
                  from texts in ArbMap.Default.GeneratorFor<string>().Select(static s => s ?? string.Empty).ListOf()
                  select (model, target, texts: texts.ToArray());
        var policy = Allowlist(["gpt-4o*", "claude-*"], ["openai-primary"]);

        Properties.ForAll(gen, c =>
        {
            var withTexts = Evaluate(policy, c.model, c.target, c.texts);
            var without = Evaluate(policy, c.model, c.target);

            Assert.Equal((without.Decision, without.Code, without.Reason), (withTexts.Decision, withTexts.Code, withTexts.Reason));
        });
    }

    [Fact]
    public void A_known_target_is_allowed_exactly_when_it_is_listed_ignoring_case()
    {
        var ids = new[] { "openai-primary", "anthropic-fallback", "local", "Azure-East" };
        var gen = from listed in Gen.SubListOf(ids)
                  from target in Gen.Elements(ids)
                  from mask in CaseMasks
                  select (listed: listed.ToArray(), target: Recase(target, mask));

        Properties.ForAll(gen, c =>
        {
            var verdict = Evaluate(Allowlist([], c.listed), "any-model", c.target);

            var expected = c.listed.Length == 0 || c.listed.Contains(c.target, StringComparer.OrdinalIgnoreCase);
            Assert.Equal(expected, verdict.Decision == PolicyDecision.Allow);
            if (!expected)
            {
                Assert.Equal((PolicyErrors.ForbiddenStatus, "target_not_allowed", "TARGET_NOT_ALLOWED"), (verdict.Status, verdict.Code, Assert.Single(verdict.Findings).Type));
            }
        });
    }

    [Fact]
    public void A_request_without_a_model_is_refused_only_when_models_are_listed()
    {
        Properties.ForAll(Gen.Zip(Patterns, Gen.Elements<string?>(null, string.Empty)), c =>
        {
            var verdict = Evaluate(Allowlist(c.Item1), c.Item2);

            Assert.Equal(c.Item1.Length > 0, verdict.Decision == PolicyDecision.Block);
            if (c.Item1.Length > 0)
            {
                Assert.Equal(("model_required", PolicyErrors.ForbiddenStatus), (verdict.Code, verdict.Status));
            }
        });
    }

    [Fact]
    public void An_unknown_target_is_not_checked()
    {
        Properties.ForAll(ModelId, model =>
        {
            var verdict = Evaluate(Allowlist([], ["openai-primary"]), model, target: null);

            Assert.Equal(PolicyDecision.Allow, verdict.Decision);
        });
    }
}
