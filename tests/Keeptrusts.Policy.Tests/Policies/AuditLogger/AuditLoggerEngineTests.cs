using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Exchange;
using Keeptrusts.Policy.Policies.AuditLogger;
using Keeptrusts.Policy.Tests.TestSupport;
using static Keeptrusts.Policy.Tests.Policies.AuditLogger.AuditTestSupport;

namespace Keeptrusts.Policy.Tests.Policies.AuditLogger;

/// <summary>The audit logger behind the real engine and chain: what reaches the file, and what never does.</summary>
public sealed class AuditLoggerEngineTests : IDisposable
{
    private readonly TestFiles.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly Gen<string> Emails =
        from user in Gen.Elements("alice", "bob.smith", "x_y", "名前")
        from n in Gen.Choose(0, 99999)
        from domain in Gen.Elements("example.com", "corp.example.org", "mail.test")
        select $"{user}{n}@{domain}";

    private static readonly Gen<string> Keys =
        from prefix in Gen.Elements("sk-live-", "AKIA", "ghp_", "kt_gk_")
        from body in Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".ToCharArray()).ArrayOf().Where(static c => c.Length >= 16)
        select prefix + new string(body.Take(32).ToArray());

    private static readonly Gen<(string Text, string[] Secrets)> Prompts =
        from email in Emails
        from key in Keys
        from filler in Gen.Elements("please email ", "my key is ", "", "\u202e odd ", "🚀 ")
        select ($"{filler}{email} and use {key} for the deploy", new[] { email, key });

    private PolicyConfig Config(string extra = "log_all_access: true") =>
        PolicyConfigLoader.Parse($$"""
            pack: { name: team-alpha, version: 0.1.0 }
            policies:
              chain: [audit-logger]
            policy:
              audit-logger:
                immutable: true
                retention_days: 30
                path: '{{Path.Combine(_dir.Path, "audit.jsonl")}}'
                {{extra}}
            """).Config!;

    /// <summary>The audit logger of an engine, to flush it between steps of a test.</summary>
    private static AuditLoggerPolicy AuditPolicyOf(PolicyEngine engine) =>
        Assert.IsType<AuditLoggerPolicy>(Assert.Single(engine.Chain.Policies).Policy);

    private string AllText() => string.Concat(Directory.GetFiles(_dir.Path).Select(File.ReadAllText));

    [Fact]
    public async Task Requests_and_responses_through_the_engine_are_recorded_without_their_texts()
    {
        var engine = PolicyEngine.Create(Config(), new PolicyEngineOptions { TimeProvider = new FakeTime(Day1) });
        var audit = AuditPolicyOf(engine);
        var request = """{"model":"gpt-4o","messages":[{"role":"system","content":"be nice"},{"role":"user","content":"mail jane.doe@example.com the key sk-live-ABCDEFGHIJKLMNOPQRSTUV"}]}"""u8.ToArray();
        var response = """{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"sent to jane.doe@example.com"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"""u8.ToArray();

        await using (var exchange = engine.BeginExchange(new RequestContext { UserId = "u-7", IdentityProofMethod = IdentityProofMethod.GatewayKey, ConversationId = "conv-1" }))
        {
            var input = await exchange.EvaluateRequestAsync(request);
            var output = await exchange.EvaluateResponseAsync(response);
            Assert.Equal(PolicyDecision.Allow, input.Decision);
            Assert.Equal(PolicyDecision.Allow, output.Decision);
            Assert.Equal(request, input.Body.ToArray());
        }

        await engine.DisposeAsync();

        var file = Assert.Single(Directory.GetFiles(_dir.Path));
        Assert.True(Verify(file).IsIntact);
        var lines = Parse(file);
        Assert.Equal(["input", "output"], lines.Select(static l => l.GetProperty("phase").GetString()));
        Assert.All(lines, l =>
        {
            Assert.Equal("u-7", l.GetProperty("user_id").GetString());
            Assert.Equal("gateway_key", l.GetProperty("identity_proof_method").GetString());
            Assert.Equal("gpt-4o", l.GetProperty("model").GetString());
            Assert.Equal("team-alpha", l.GetProperty("pack").GetString());
            Assert.Empty(l.GetProperty("policies").EnumerateArray());
        });
        var text = AllText();
        Assert.DoesNotContain("jane.doe", text, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-live", text, StringComparison.Ordinal);
        Assert.DoesNotContain("be nice", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_request_is_recorded_as_a_block_even_when_only_non_allow_records_are_kept()
    {
        var engine = PolicyEngine.Create(Config("log_all_access: false"));
        var audit = AuditPolicyOf(engine);

        await using (var exchange = engine.BeginExchange())
        {
            await exchange.EvaluateRequestAsync("{\"model\": \"gpt-4o\", \"messages\": [ sk-live-SECRET"u8.ToArray());
            await exchange.EvaluateRequestAsync("""{"model":"gpt-4o","messages":[{"role":"user","content":"fine"}]}"""u8.ToArray());
        }

        await engine.DisposeAsync();

        var line = Assert.Single(Directory.GetFiles(_dir.Path).SelectMany(Parse));
        Assert.Equal("block", line.GetProperty("decision").GetString());
        Assert.Equal(400, line.GetProperty("status").GetInt32());
        Assert.DoesNotContain("SECRET", AllText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Records_never_contain_a_text_given_to_the_chain()
    {
        Properties.ForAll(Prompts.ArrayOf().Where(static p => p.Length > 0).Select(static p => p.Take(5).ToArray()), prompts => InTemp(dir =>
        {
            var logger = Logger(Path.Combine(dir, "audit.jsonl"));
            var chain = new PolicyChain(
                [(new SecretSpotter("redactor", redact: true), PolicyMode.Enforce), (new SecretSpotter("watcher", redact: false), PolicyMode.Monitor), (logger, PolicyMode.Enforce)],
                PolicyConfigLoader.Parse("pack: {name: t, version: 1.0.0}").Config!,
                FailMode.Block,
                new FakeTime(Day1));
            try
            {
                foreach (var (text, _) in prompts)
                {
                    foreach (var phase in new[] { PolicyPhase.Input, PolicyPhase.Output })
                    {
                        var view = phase == PolicyPhase.Input ? ChatView.FromUserText(text) : ChatView.FromAssistantText(text);
                        var result = chain.RunAsync(phase, view, new RequestContext { UserId = "u" }, new ExchangeState(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
                        logger.WriteAsync(result.Record, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    }
                }
            }
            finally
            {
                logger.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }

            var written = string.Concat(Directory.GetFiles(dir).Select(f => File.ReadAllText(f, Encoding.UTF8)));
            Assert.Equal(prompts.Length * 2, written.Count(static c => c == '\n'));
            Assert.Contains("EMAIL_ADDRESS", written, StringComparison.Ordinal);
            foreach (var (text, secrets) in prompts)
            {
                Assert.DoesNotContain(text, written, StringComparison.Ordinal);
                foreach (var secret in secrets)
                {
                    Assert.DoesNotContain(secret, written, StringComparison.Ordinal);
                    Assert.DoesNotContain(JsonEncodedText.Encode(secret).ToString(), written, StringComparison.Ordinal);
                }
            }
        }), 50);
    }

    /// <summary>Finds emails and keys like a well-behaved detector: types and offsets in findings, never the text.</summary>
    private sealed class SecretSpotter(string id, bool redact) : IChainPolicy
    {
        public string Id => id;

        public bool AppliesTo(PolicyPhase phase) => true;

        public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken)
        {
            var findings = new List<PolicyFinding>();
            var edits = new List<TextEdit>();
            for (var t = 0; t < context.Texts.Count; t++)
            {
                var words = context.Texts[t].Split(' ');
                var offset = 0;
                foreach (var word in words)
                {
                    var type = word.Contains('@', StringComparison.Ordinal) ? "EMAIL_ADDRESS" : word.Length >= 16 && word.Any(char.IsAsciiDigit) ? "API_KEY" : null;
                    if (type is not null)
                    {
                        findings.Add(new PolicyFinding(id, type) { Text = t, Start = offset, End = offset + word.Length, Score = 0.99, Detail = type.ToLowerInvariant() });
                        edits.Add(new TextEdit(t, offset, word.Length, "[" + type + "]"));
                    }

                    offset += word.Length + 1;
                }
            }

            return ValueTask.FromResult(findings.Count == 0
                ? PolicyVerdict.Allowed
                : redact ? PolicyVerdict.Redact("secrets redacted", findings, edits) : PolicyVerdict.Flag("secrets seen", findings));
        }
    }
}
