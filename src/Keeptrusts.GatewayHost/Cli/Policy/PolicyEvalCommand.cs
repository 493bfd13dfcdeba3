using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Diagnostics;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies;

namespace Keeptrusts.GatewayHost.Cli.Policy;

/// <summary>
/// <c>kt policy eval --policy-config F [--policy-config G ...] --input cases.jsonl [--phase input|output]
/// [--text-field text] [--id-field id] [--fail-mode block|allow]</c>: evaluates each JSON line's text as a single
/// message through the configured chain and writes one JSON line per input line, in order, streaming — so a policy
/// change can be regression-tested against a team's own prompts.
/// </summary>
internal sealed class PolicyEvalCommand : Command
{
    private const int ProgressEvery = 1000;

    private readonly KtConsole _console;

    private readonly Option<string[]> _configs = new("--policy-config", "-c")
    {
        Description = "A policy-config.yaml file. Repeat to layer files; the later file wins.",
        HelpName = "path",
        Required = true,
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<string> _input = new("--input", "-i")
    {
        Description = "A JSON Lines file of cases, or '-' for standard input.",
        HelpName = "cases.jsonl",
        Required = true,
    };

    private readonly Option<string> _phase = new("--phase")
    {
        Description = "Evaluate each text as a user message (input) or as an assistant answer (output).",
        HelpName = "input|output",
        DefaultValueFactory = static _ => "input",
    };

    private readonly Option<string> _textField = new("--text-field")
    {
        Description = "The property of each line that holds the text.",
        HelpName = "name",
        DefaultValueFactory = static _ => "text",
    };

    private readonly Option<string> _idField = new("--id-field")
    {
        Description = "The property of each line that identifies it; the line number when absent.",
        HelpName = "name",
        DefaultValueFactory = static _ => "id",
    };

    private readonly Option<string> _failMode = new("--fail-mode")
    {
        Description = "What a failing policy does: block (default) or allow.",
        HelpName = "block|allow",
        DefaultValueFactory = static _ => "block",
    };

    public PolicyEvalCommand(KtConsole console)
        : base("eval", "Evaluate the texts of a JSON Lines file through the policy chain and print one decision per line.")
    {
        _console = console ?? throw new ArgumentNullException(nameof(console));
        _phase.AcceptOnlyFromAmong("input", "output");
        _failMode.AcceptOnlyFromAmong("block", "allow");
        Options.Add(_configs);
        Options.Add(_input);
        Options.Add(_phase);
        Options.Add(_textField);
        Options.Add(_idField);
        Options.Add(_failMode);
        SetAction(ExecuteAsync);
    }

    private async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var loaded = PolicyConfigLoader.LoadFiles(parseResult.GetRequiredValue(_configs));
        if (loaded.Config is not { } config)
        {
            var unreadable = loaded.Diagnostics.Any(static d => d.Code is DiagnosticCodes.FileNotFound or DiagnosticCodes.FileUnreadable);
            foreach (var diagnostic in loaded.Diagnostics.Where(static d => d.Severity == DiagnosticSeverity.Error))
            {
                await _console.Error.WriteLineAsync(KtCommand.OneLine(unreadable ? "kt: error: " + diagnostic.Message + ": " + diagnostic.Location.File : diagnostic.ToString())).ConfigureAwait(false);
            }

            return unreadable ? ExitCodes.UsageOrIo : ExitCodes.Findings;
        }

        var inputPath = parseResult.GetRequiredValue(_input);
        TextReader reader;
        if (inputPath == "-")
        {
            reader = _console.In;
        }
        else if (File.Exists(inputPath))
        {
            reader = new StreamReader(inputPath, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, new FileStreamOptions { Options = FileOptions.SequentialScan, BufferSize = 1 << 16 });
        }
        else
        {
            await _console.Error.WriteLineAsync($"kt: error: input file not found: {inputPath}").ConfigureAwait(false);
            return ExitCodes.UsageOrIo;
        }

        var phase = parseResult.GetRequiredValue(_phase) == "output" ? PolicyPhase.Output : PolicyPhase.Input;
        var options = new PolicyEngineOptions { FailMode = parseResult.GetRequiredValue(_failMode) == "allow" ? FailMode.Allow : FailMode.Block };
        // Evaluating cases is not traffic: the audit logger never changes a decision, and its log must not fill with
        // test cases, so it is left out of the chain here.
        config = config with { Policies = config.Policies with { Chain = config.Policies.Chain.Where(static id => !string.Equals(id, PolicyCatalog.AuditLogger, StringComparison.OrdinalIgnoreCase)).ToArray() } };
        var engine = PolicyEngine.Create(config, options);
        await using var disposeEngine = engine.ConfigureAwait(false);
        var textField = parseResult.GetRequiredValue(_textField);
        var idField = parseResult.GetRequiredValue(_idField);

        var buffer = new ArrayBufferWriter<byte>(1024);
        var lineNumber = 0;
        var failures = 0;
        using (reader == _console.In ? null : reader)
        {
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                buffer.ResetWrittenCount();
                using (var writer = new Utf8JsonWriter(buffer))
                {
                    if (!await EvaluateLineAsync(engine, line, lineNumber, textField, idField, phase, writer, cancellationToken).ConfigureAwait(false))
                    {
                        failures++;
                    }
                }

                await _console.Out.WriteLineAsync(Encoding.UTF8.GetString(buffer.WrittenSpan)).ConfigureAwait(false);
                if (_console.ErrorIsTerminal && lineNumber % ProgressEvery == 0)
                {
                    await _console.Error.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"\rkt: {lineNumber} lines evaluated")).ConfigureAwait(false);
                }
            }
        }

        if (_console.ErrorIsTerminal && lineNumber >= ProgressEvery)
        {
            await _console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"\rkt: {lineNumber} lines evaluated")).ConfigureAwait(false);
        }

        if (failures > 0)
        {
            await _console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"kt: {failures} line(s) could not be evaluated; see their \"error\" fields")).ConfigureAwait(false);
            return ExitCodes.Findings;
        }

        return ExitCodes.Success;
    }

    private static async ValueTask<bool> EvaluateLineAsync(PolicyEngine engine, string line, int lineNumber, string textField, string idField, PolicyPhase phase, Utf8JsonWriter writer, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            WriteError(writer, lineNumber, null, "not valid JSON: " + ex.Message);
            return false;
        }

        using (document)
        {
            var root = document.RootElement;
            JsonElement? id = root.ValueKind == JsonValueKind.Object && root.TryGetProperty(idField, out var idValue) ? idValue : null;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(textField, out var text) || text.ValueKind != JsonValueKind.String)
            {
                WriteError(writer, lineNumber, id, $"no string property '{textField}'");
                return false;
            }

            var evaluation = await engine.EvaluateTextAsync(text.GetString()!, phase, null, cancellationToken).ConfigureAwait(false);
            writer.WriteStartObject();
            WriteId(writer, lineNumber, id);
            writer.WriteString("decision", DecisionName(evaluation.Decision));
            if (evaluation.Record.BlockedBy is { } blockedBy)
            {
                writer.WriteString("blocked_by", blockedBy);
            }

            writer.WriteStartArray("findings");
            foreach (var outcome in evaluation.Record.Policies)
            {
                foreach (var finding in outcome.Findings)
                {
                    writer.WriteStartObject();
                    writer.WriteString("policy", finding.Policy);
                    writer.WriteString("type", finding.Type);
                    if (finding.Start is { } start && finding.End is { } end)
                    {
                        writer.WriteNumber("start", start);
                        writer.WriteNumber("end", end);
                    }

                    if (finding.Score is { } score)
                    {
                        writer.WriteNumber("score", Math.Round(score, 4));
                    }

                    if (finding.Detail is { } detail)
                    {
                        writer.WriteString("detail", detail);
                    }

                    writer.WriteEndObject();
                }
            }

            writer.WriteEndArray();
            var errors = evaluation.Record.Policies.Where(static p => p.Error is not null).Select(static p => p.Reason).ToList();
            if (errors.Count > 0)
            {
                writer.WriteString("policy_error", string.Join("; ", errors));
            }

            writer.WriteEndObject();
            return true;
        }
    }

    private static void WriteError(Utf8JsonWriter writer, int lineNumber, JsonElement? id, string message)
    {
        writer.WriteStartObject();
        WriteId(writer, lineNumber, id);
        writer.WriteNumber("line", lineNumber);
        writer.WriteString("error", message);
        writer.WriteEndObject();
    }

    private static void WriteId(Utf8JsonWriter writer, int lineNumber, JsonElement? id)
    {
        writer.WritePropertyName("id");
        if (id is { } value)
        {
            value.WriteTo(writer);
        }
        else
        {
            writer.WriteNumberValue(lineNumber);
        }
    }

    internal static string DecisionName(PolicyDecision decision) => decision switch
    {
        PolicyDecision.Allow => "allow",
        PolicyDecision.Flag => "flag",
        PolicyDecision.Redact => "redact",
        _ => "block",
    };
}
