using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Evaluation;

public class PolicyChainPropertyTests
{
    private static readonly PolicyConfig Config = PolicyConfigLoader.Parse("pack: {name: t, version: 1.0.0}").Config!;

    private enum Kind { Allow, Flag, Redact, Block, Throw }

    private static readonly Gen<(Kind Kind, PolicyMode Mode)[]> Chains =
        Gen.Elements(Kind.Allow, Kind.Flag, Kind.Redact, Kind.Block, Kind.Throw)
            .SelectMany(k => Gen.Elements(PolicyMode.Enforce, PolicyMode.Monitor).Select(m => (k, m)))
            .ListOf().Select(l => l.Take(6).ToArray());

    private static readonly Gen<FailMode> FailModes = Gen.Elements(FailMode.Block, FailMode.Allow);

    private static (PolicyChain Chain, TestPolicy[] Policies) Build((Kind Kind, PolicyMode Mode)[] spec, FailMode failMode)
    {
        var policies = spec.Select((s, i) => s.Kind switch
        {
            Kind.Allow => TestPolicy.Allowing("p" + i),
            Kind.Flag => TestPolicy.Flagging("p" + i),
            Kind.Redact => TestPolicy.Redacting("p" + i, "secret", "[X]"),
            Kind.Block => TestPolicy.Blocking("p" + i),
            _ => TestPolicy.Throwing("p" + i),
        }).ToArray();
        var chain = new PolicyChain(policies.Select((p, i) => ((IChainPolicy)p, spec[i].Mode)).ToList(), Config, failMode, TimeProvider.System);
        return (chain, policies);
    }

    private static ChainResult Run(PolicyChain chain, string text = "my secret is secret") =>
        chain.RunAsync(PolicyPhase.Input, ChatView.FromUserText(text), new RequestContext(), new ExchangeState(), CancellationToken.None).AsTask().GetAwaiter().GetResult();

    [Fact]
    public void A_block_short_circuits_later_policies_never_run()
    {
        Properties.ForAll(Gen.Zip(Chains, FailModes), input =>
        {
            var (spec, failMode) = input;
            var (chain, policies) = Build(spec, failMode);
            var result = Run(chain);
            var firstBlock = Array.FindIndex(spec, s => s.Mode == PolicyMode.Enforce && (s.Kind == Kind.Block || (s.Kind == Kind.Throw && failMode == FailMode.Block)));
            if (firstBlock < 0)
            {
                Assert.NotEqual(PolicyDecision.Block, result.Record.Decision);
                Assert.All(policies, p => Assert.Equal(1, p.Calls));
                return;
            }

            Assert.Equal(PolicyDecision.Block, result.Record.Decision);
            Assert.Equal("p" + firstBlock, result.Record.BlockedBy);
            Assert.All(policies.Take(firstBlock + 1), p => Assert.Equal(1, p.Calls));
            Assert.All(policies.Skip(firstBlock + 1), p => Assert.Equal(0, p.Calls));
            Assert.Equal(firstBlock + 1, result.Record.Policies.Count);
        });
    }

    [Fact]
    public void Monitor_mode_never_changes_or_blocks_a_request()
    {
        var monitorOnly = Chains.Select(spec => spec.Select(s => (s.Kind, PolicyMode.Monitor)).ToArray());
        Properties.ForAll(Gen.Zip(monitorOnly, FailModes), input =>
        {
            var (chain, _) = Build(input.Item1, input.Item2);
            var result = Run(chain);
            Assert.Equal("my secret is secret", result.Texts[0]);
            Assert.NotEqual(PolicyDecision.Block, result.Record.Decision);
            Assert.NotEqual(PolicyDecision.Redact, result.Record.Decision);
            Assert.All(result.Record.Policies, o => Assert.False(o.Enforced));
        });
    }

    [Fact]
    public void Fail_mode_allow_never_blocks_on_a_policy_error_and_block_always_does()
    {
        Properties.ForAll(Chains.Where(s => s.Any(p => p.Kind == Kind.Throw && p.Mode == PolicyMode.Enforce)), spec =>
        {
            var noBlocks = spec.Select(s => s.Kind == Kind.Block ? (Kind.Allow, s.Mode) : s).ToArray();

            var allowed = Run(Build(noBlocks, FailMode.Allow).Chain);
            Assert.NotEqual(PolicyDecision.Block, allowed.Record.Decision);
            Assert.Contains(allowed.Record.Policies, o => o.Error is not null && !o.Enforced);

            var blocked = Run(Build(noBlocks, FailMode.Block).Chain);
            Assert.Equal(PolicyDecision.Block, blocked.Record.Decision);
            Assert.Equal(503, blocked.Record.Status);
            Assert.Equal("policy_unavailable", blocked.Record.Code);
            Assert.Contains(blocked.Record.Policies, o => o.Error is not null && o.Enforced);
        });
    }

    [Fact]
    public void A_policy_error_never_leaks_its_message()
    {
        var result = Run(Build([(Kind.Throw, PolicyMode.Enforce)], FailMode.Block).Chain);

        var outcome = Assert.Single(result.Record.Policies);
        Assert.DoesNotContain("sk-live", outcome.Error + outcome.Reason + result.Record.Reason, StringComparison.Ordinal);
        Assert.Contains("InvalidOperationException", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_decision_is_deterministic_and_the_most_severe_enforced_verdict_wins()
    {
        Properties.ForAll(Gen.Zip(Chains, FailModes), input =>
        {
            var first = Run(Build(input.Item1, input.Item2).Chain);
            var second = Run(Build(input.Item1, input.Item2).Chain);
            Assert.Equal(first.Record.Decision, second.Record.Decision);
            Assert.Equal(first.Texts, second.Texts);
            Assert.Equal(first.Record.Policies.Select(p => (p.Policy, p.Decision, p.Enforced)), second.Record.Policies.Select(p => (p.Policy, p.Decision, p.Enforced)));

            var enforced = first.Record.Policies.Where(p => p.Enforced).Select(p => p.Decision).DefaultIfEmpty(PolicyDecision.Allow).Max();
            var monitoredNonAllow = first.Record.Policies.Any(p => !p.Enforced && p.Decision != PolicyDecision.Allow);
            var expected = enforced == PolicyDecision.Allow && monitoredNonAllow ? PolicyDecision.Flag : enforced;
            Assert.Equal(expected, first.Record.Decision);
        });
    }

    [Fact]
    public void Redactions_compose_and_later_policies_see_the_redacted_text()
    {
        var seen = new List<string>();
        var observer = new TestPolicy("observer", c => { seen.Add(c.Texts[0]); return PolicyVerdict.Allowed; });
        var chain = new PolicyChain(
            [(TestPolicy.Redacting("a", "secret", "[X]"), PolicyMode.Enforce), (TestPolicy.Redacting("b", "my", "[Y]"), PolicyMode.Enforce), (observer, PolicyMode.Enforce)],
            Config, FailMode.Block, TimeProvider.System);

        var result = Run(chain);

        Assert.Equal("[Y] [X] is [X]", result.Texts[0]);
        Assert.Equal(["[Y] [X] is [X]"], seen);
        Assert.Equal(PolicyDecision.Redact, result.Record.Decision);
    }

    [Fact]
    public void Finding_offsets_always_point_into_the_text_as_it_arrived()
    {
        var words = Gen.Elements("alpha", "beta", "gamma", "secret", "token", "x");
        var texts = words.ListOf().Select(w => string.Join(" ", w.Take(30)));
        Properties.ForAll(texts, text =>
        {
            // The first policy changes lengths; the second finds "token" in the rewritten text.
            var chain = new PolicyChain(
                [(TestPolicy.Redacting("a", "secret", "[REDACTED:SECRET]"), PolicyMode.Enforce), (TestPolicy.Redacting("b", "token", "t"), PolicyMode.Enforce)],
                Config, FailMode.Block, TimeProvider.System);

            var result = Run(chain, text);

            foreach (var finding in result.Record.Policies.SelectMany(p => p.Findings))
            {
                Assert.InRange(finding.Start!.Value, 0, text.Length);
                Assert.InRange(finding.End!.Value, finding.Start.Value, text.Length);
                var expectedWord = finding.Policy == "a" ? "secret" : "token";
                Assert.Equal(expectedWord, text[finding.Start.Value..finding.End.Value]);
            }
        });
    }
}
