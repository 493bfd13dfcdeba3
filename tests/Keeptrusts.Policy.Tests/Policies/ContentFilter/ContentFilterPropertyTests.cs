using System.Text;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.ContentFilter;
using Keeptrusts.Policy.Tests.TestSupport;
using static Keeptrusts.Policy.Tests.Policies.ContentFilter.ContentFilterTesting;

namespace Keeptrusts.Policy.Tests.Policies.ContentFilter;

/// <summary>The decision rules of content-filter, as properties over generated texts and rules.</summary>
public class ContentFilterPropertyTests
{
    // Filler and keywords use disjoint letters, so a keyword can only occur where a test puts it.
    private static readonly char[] FillerLetters = "abcdefghijklmäöüçàабвгд".ToCharArray();
    private static readonly char[] KeywordLetters = "nopqrstuvwxyzéжшщэюяñ".ToCharArray();
    private static readonly string[] Separators = [" ", "  ", ", ", ". ", "\n", "\t", "(", ")", "\"", "!", "-", "/", "\u00A0", "\u3000", "—"];

    private static readonly Gen<string> FillerWord = Gen.Elements(FillerLetters).NonEmptyListOf().Select(static l => new string([.. l.Take(12)]));

    private static readonly Gen<string> Filler =
        Gen.Zip(FillerWord, Gen.Elements(Separators)).ListOf().Select(static l => string.Concat(l.Take(20).Select(static p => p.Item1 + p.Item2)));

    private static readonly Gen<string> KeywordWord = Gen.Elements(KeywordLetters).NonEmptyListOf().Select(static l => new string([.. l.Take(8)]));

    /// <summary>One to three words, joined by single spaces.</summary>
    private static readonly Gen<string> Keyword = KeywordWord.NonEmptyListOf().Select(static l => string.Join(' ', l.Take(3)));

    private static readonly Gen<bool[]> CaseMasks = Gen.Elements(true, false).ArrayOf();

    private static string Recase(string keyword, bool[] mask)
    {
        var chars = keyword.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (mask.Length > 0 && mask[i % mask.Length])
            {
                chars[i] = char.ToUpperInvariant(chars[i]);
            }
        }

        return new string(chars);
    }

    [Fact]
    public void A_deny_keyword_at_a_word_boundary_is_found_in_any_letter_case()
    {
        var gen = from keyword in Keyword
                  from before in Filler
                  from after in Filler
                  from left in Gen.Elements(Separators)
                  from right in Gen.Elements(Separators)
                  from mask in CaseMasks
                  from atStart in Gen.Elements(true, false)
                  select (keyword, before: atStart ? string.Empty : before + left, after: right + after, mask);

        Properties.ForAll(gen, c =>
        {
            var text = c.before + Recase(c.keyword, c.mask) + c.after;
            var verdict = Evaluate(Filter(new ContentFilterRules { DenyKeywords = [c.keyword] }), text);

            Assert.Equal(PolicyDecision.Block, verdict.Decision);
            var finding = Assert.Single(verdict.Findings);
            Assert.Equal((c.before.Length, c.before.Length + c.keyword.Length), (finding.Start!.Value, finding.End!.Value));
            Assert.Equal("input.deny_keywords[0]", finding.Detail);
        });
    }

    [Fact]
    public void A_case_sensitive_keyword_is_found_only_in_its_own_case()
    {
        var gen = from keyword in Keyword
                  from before in Filler
                  from mask in CaseMasks
                  select (keyword, before, mask);

        Properties.ForAll(gen, c =>
        {
            var written = Recase(c.keyword, c.mask);
            var verdict = Evaluate(Filter(new ContentFilterRules { DenyKeywords = [c.keyword] }, caseSensitive: true), c.before + " " + written + " end");

            Assert.Equal(string.Equals(written, c.keyword, StringComparison.Ordinal), verdict.Decision == PolicyDecision.Block);
        });
    }

    [Fact]
    public void A_keyword_inside_a_longer_word_is_not_found()
    {
        var gen = from keyword in KeywordWord
                  from prefix in Gen.Elements(FillerLetters.Concat("0123456789_\u0301").ToArray()).ListOf().Select(static l => new string([.. l.Take(4)]))
                  from suffix in Gen.Elements(FillerLetters.Concat("0123456789_\u0301").ToArray()).ListOf().Select(static l => new string([.. l.Take(4)]))
                  from before in Filler
                  from after in Filler
                  where prefix.Length + suffix.Length > 0
                  select (keyword, word: prefix + keyword + suffix, before, after);

        Properties.ForAll(gen, c =>
        {
            var verdict = Evaluate(Filter(new ContentFilterRules { DenyKeywords = [c.keyword] }), c.before + " " + c.word + " " + c.after);

            Assert.Equal(PolicyDecision.Allow, verdict.Decision);
            Assert.Empty(verdict.Findings);
        });
    }

    [Fact]
    public void A_deny_match_inside_an_allow_match_is_never_reported_and_bare_ones_always_are()
    {
        // Each occurrence of the denied keyword is either bare or inside the allowed phrase around it.
        var gen = from deny in Keyword
                  from lead in KeywordWord
                  from tail in KeywordWord
                  from shape in Gen.Elements(0, 1, 2)
                  from byPattern in Gen.Elements(true, false)
                  from covered in Gen.Elements(true, false).NonEmptyListOf()
                  from filler in Filler
                  where lead != deny && tail != deny
                  select (deny, allow: shape switch { 0 => lead + " " + deny, 1 => deny + " " + tail, _ => lead + " " + deny + " " + tail }, byPattern, covered: covered.Take(6).ToArray(), filler);

        Properties.ForAll(gen, c =>
        {
            var rules = c.byPattern
                ? new ContentFilterRules { DenyKeywords = [c.deny], AllowPatterns = [Regex.Escape(c.allow)] }
                : new ContentFilterRules { DenyKeywords = [c.deny], AllowKeywords = [c.allow] };
            var text = new StringBuilder(c.filler);
            var bare = new List<int>();
            foreach (var isCovered in c.covered)
            {
                text.Append(" . ");
                if (isCovered)
                {
                    text.Append(c.allow);
                }
                else
                {
                    bare.Add(text.Length);
                    text.Append(c.deny);
                }
            }

            var verdict = Evaluate(Filter(rules), text.ToString());

            // The '.' between occurrences keeps an allowed phrase from reaching into a bare keyword.
            Assert.Equal(bare, verdict.Findings.Select(static f => f.Start!.Value));
            Assert.Equal(bare.Count > 0, verdict.Decision == PolicyDecision.Block);
        });
    }

    [Fact]
    public void Warn_never_blocks_and_block_always_blocks_when_a_deny_rule_matches()
    {
        var gen = from keyword in Keyword
                  from filler in Filler
                  from present in Gen.Elements(true, false)
                  from action in Gen.Elements(ContentFilterAction.Block, ContentFilterAction.Warn)
                  from phase in Gen.Elements(PolicyPhase.Input, PolicyPhase.Output)
                  select (keyword, text: present ? filler + " " + keyword + "." : filler, present, action, phase);

        Properties.ForAll(gen, c =>
        {
            var rules = new ContentFilterRules { DenyKeywords = [c.keyword] };
            var verdict = Evaluate(Filter(rules, action: c.action, output: rules), c.phase, c.text);

            var expected = !c.present ? PolicyDecision.Allow : c.action == ContentFilterAction.Block ? PolicyDecision.Block : PolicyDecision.Flag;
            Assert.Equal(expected, verdict.Decision);
            Assert.Equal(c.present, verdict.Findings.Count > 0);
            if (expected == PolicyDecision.Block)
            {
                Assert.Equal(PolicyErrors.BlockStatus, verdict.Status);
                Assert.Equal("content_blocked", verdict.Code);
            }
        });
    }

    [Fact]
    public void A_deny_pattern_match_anywhere_is_found_in_any_letter_case()
    {
        var gen = from before in Filler
                  from digits in Gen.Choose(0, 99999)
                  from upper in Gen.Elements(true, false)
                  from glued in Gen.Elements(true, false)
                  select (before, token: (upper ? "TICKET-" : "ticket-") + digits, glued);

        Properties.ForAll(gen, c =>
        {
            // Patterns are not bound to word boundaries: a match glued to other letters still counts.
            var before = c.glued ? c.before + "x" : c.before + " ";
            var verdict = Evaluate(Filter(new ContentFilterRules { DenyPatterns = ["ticket-[0-9]+"] }), before + c.token);

            var finding = Assert.Single(verdict.Findings);
            Assert.Equal((before.Length, before.Length + c.token.Length), (finding.Start!.Value, finding.End!.Value));
            Assert.Equal("input.deny_patterns[0]", finding.Detail);
        });
    }

    [Fact]
    public void Findings_lie_within_the_text_and_cover_a_matching_substring()
    {
        var keywords = new[] { "nor", "éxy", "on top", "жы" };
        var alphabet = "nor éxyONTPжыЖЫ 12345-.ab\u0301_".ToCharArray();
        var gen = Gen.Elements(alphabet).ListOf().Select(static l => new string([.. l.Take(300)]));
        var policy = Filter(new ContentFilterRules { DenyKeywords = keywords, DenyPatterns = ["[0-9]{3}", "(?<=-)[a-b]+"] });
        var patterns = new Dictionary<string, Regex>
        {
            ["input.deny_patterns[0]"] = new("^[0-9]{3}$"),
            ["input.deny_patterns[1]"] = new("^[a-b]+$", RegexOptions.IgnoreCase),
        };

        Properties.ForAll(gen, text =>
        {
            var verdict = Evaluate(policy, text);

            foreach (var f in verdict.Findings)
            {
                Assert.Equal((0, "CONTENT_FILTER", "content-filter"), (f.Text!.Value, f.Type, f.Policy));
                Assert.InRange(f.Start!.Value, 0, text.Length - 1);
                Assert.InRange(f.End!.Value, f.Start.Value + 1, text.Length);
                var covered = text[f.Start.Value..f.End.Value];
                if (f.Detail!.StartsWith("input.deny_keywords[", StringComparison.Ordinal))
                {
                    var index = int.Parse(f.Detail["input.deny_keywords[".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
                    Assert.Equal(keywords[index], covered, ignoreCase: true);
                }
                else
                {
                    Assert.Matches(patterns[f.Detail], covered);
                }
            }

            Assert.Equal(verdict.Findings.Count > 0, verdict.Decision == PolicyDecision.Block);
        }, maxTest: 500);
    }

    [Fact]
    public void Reasons_and_findings_never_carry_the_matched_text()
    {
        // Letters that cannot occur in a rule name, so a leak cannot hide behind a coincidence.
        var secret = Gen.Elements("éжшщэюяñ".ToCharArray()).NonEmptyListOf().Select(static l => new string([.. l.Take(8)]));
        var gen = from keyword in secret
                  from filler in Filler
                  select (keyword, text: filler + " " + keyword + " " + filler);

        Properties.ForAll(gen, c =>
        {
            var verdict = Evaluate(Filter(new ContentFilterRules { DenyKeywords = [c.keyword], DenyPatterns = [Regex.Escape(c.keyword)] }), c.text);

            Assert.DoesNotContain(c.keyword, verdict.Reason!, StringComparison.OrdinalIgnoreCase);
            Assert.All(verdict.Findings, f => Assert.DoesNotContain(c.keyword, f.Detail!, StringComparison.OrdinalIgnoreCase));
        });
    }
}
