using System.Text.RegularExpressions;
using Keeptrusts.GatewayHost.Cli.Policy.Lint;

namespace Keeptrusts.GatewayHost.Tests.Cli.Policy.Lint;

/// <summary>Every code the loader can report is explained in <c>docs/lint-rules.md</c>, where SARIF help links point.</summary>
public sealed partial class LintRulesDocumentationTests
{
    [Fact]
    public void Every_catalog_code_has_a_section_whose_anchor_matches_the_help_uri()
    {
        var sections = Sections();

        foreach (var rule in LintRuleCatalog.Rules)
        {
            Assert.True(sections.ContainsKey(rule.Code), $"docs/lint-rules.md has no '## {rule.Code}' section");
            Assert.Equal(rule.Code.ToLowerInvariant(), rule.HelpUri.Fragment.TrimStart('#'));
            Assert.Contains(rule.Title, sections[rule.Code], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_section_names_a_catalog_code_and_its_severity()
    {
        var known = LintRuleCatalog.Rules.ToDictionary(static r => r.Code);

        foreach (var (code, body) in Sections())
        {
            Assert.True(known.ContainsKey(code), $"docs/lint-rules.md documents {code}, which the catalog does not have");
            var severity = known[code].DefaultSeverity.ToString().ToLowerInvariant();
            Assert.Contains($"**Severity:** {severity}", body, StringComparison.Ordinal);
        }
    }

    private static Dictionary<string, string> Sections()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "lint-rules.md")).ReplaceLineEndings("\n");
        var headings = Heading().Matches(text);
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < headings.Count; i++)
        {
            var start = headings[i].Index + headings[i].Length;
            var end = i + 1 < headings.Count ? headings[i + 1].Index : text.Length;
            Assert.True(sections.TryAdd(headings[i].Groups["code"].Value, text[start..end]), $"{headings[i].Value} appears twice");
        }

        return sections;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Keeptrusts.Sdk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Keeptrusts.Sdk.sln above {AppContext.BaseDirectory}");
    }

    // The heading is the bare code so that its anchor is exactly the lowercase code.
    [GeneratedRegex(@"^## (?<code>KT[0-9]{4})[ \t]*$", RegexOptions.Multiline)]
    private static partial Regex Heading();
}
