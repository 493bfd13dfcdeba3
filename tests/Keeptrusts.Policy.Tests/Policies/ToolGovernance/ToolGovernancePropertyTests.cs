using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Tests.TestSupport;
using Keeptrusts.Policy.Tools;

namespace Keeptrusts.Policy.Tests.Policies.ToolGovernance;

/// <summary>The documented rule of tool-governance (deny wins; with an allow list, only listed tools), as properties.</summary>
public class ToolGovernancePropertyTests
{
    // A small alphabet so that generated patterns and names often match, and often nearly match.
    private const string NameChars = "fs_rA.d/";

    private static readonly Gen<string> ToolName = Gen.Elements(NameChars.ToCharArray()).NonEmptyListOf().Select(static l => new string([.. l.Take(8)]));

    private static readonly Gen<string> Pattern = Gen.Elements((NameChars + "**?").ToCharArray()).NonEmptyListOf().Select(static l => new string([.. l.Take(6)]));

    private static readonly Gen<string[]> Patterns = Pattern.ListOf().Select(static l => l.Take(4).ToArray());

    private static ToolRules Rules(string[] allow, string[] deny) =>
        new(allow, deny, ToolViolationAction.Strip, validateArguments: true, 100, 100, isConfigured: true, isEnforced: true);

    /// <summary>The reference: a glob is a whole-string regex where '*' is '.*' and '?' is '.', ignoring case.</summary>
    private static bool ReferenceMatch(string pattern, string name)
    {
        var regex = "^" + string.Concat(pattern.Select(static c => c switch { '*' => ".*", '?' => ".", _ => Regex.Escape(c.ToString()) })) + "$";
        return Regex.IsMatch(name, regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);
    }

    private static readonly Gen<(string Name, string[] Allow, string[] Deny)> Cases =
        from name in ToolName
        from allow in Patterns
        from deny in Patterns
        select (name, allow, deny);

    [Fact]
    public void A_tool_is_allowed_exactly_when_no_deny_glob_and_some_allow_glob_or_no_allow_list_matches()
    {
        Properties.ForAll(Cases, c =>
        {
            var (name, allow, deny) = c;

            var decision = Rules(allow, deny).Decide(name);

            var denied = deny.Any(p => ReferenceMatch(p, name));
            var expected = !denied && (allow.Length == 0 || allow.Any(p => ReferenceMatch(p, name)));
            Assert.Equal(expected, decision.IsAllowed);
        }, maxTest: 2000);
    }

    [Fact]
    public void Deny_always_wins_over_allow()
    {
        Properties.ForAll(Gen.Zip(ToolName, Patterns), c =>
        {
            var (name, allow) = c;

            var decision = Rules([.. allow, name], [name.ToUpperInvariant()]).Decide(name);

            Assert.False(decision.IsAllowed);
            Assert.StartsWith("deny[", decision.Rule, StringComparison.Ordinal);
        }, maxTest: 500);
    }

    [Fact]
    public void A_refusal_names_the_rule_or_the_allow_list_and_the_tool()
    {
        Properties.ForAll(Cases, c =>
        {
            var (name, allow, deny) = c;

            var decision = Rules(allow, deny).Decide(name);

            Assert.Contains("'" + name + "'", decision.Reason, StringComparison.Ordinal);
            if (!decision.IsAllowed && decision.Rule is null)
            {
                Assert.All(allow, p => Assert.Contains(p, decision.Reason, StringComparison.Ordinal));
            }
        }, maxTest: 500);
    }

    [Fact]
    public void No_lists_allow_every_tool()
    {
        Properties.ForAll(ToolName, name => Assert.True(Rules([], []).Decide(name).IsAllowed), maxTest: 200);
    }
}
