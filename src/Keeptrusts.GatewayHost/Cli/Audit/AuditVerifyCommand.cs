using System.Buffers;
using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Keeptrusts.Policy.Policies.AuditLogger;

namespace Keeptrusts.GatewayHost.Cli.Audit;

/// <summary>
/// <c>kt audit verify &lt;file&gt; [&lt;file&gt; ...] [--format text|json]</c>: checks the hash chain of audit files
/// written with <c>immutable: true</c> and names the first broken line of each. Files given in date order are also
/// checked against each other (<c>prev_file_hash</c>). Exit code 0 when every file is intact, 1 when any is not
/// (including a file without a hash chain), 2 when a file cannot be read.
/// </summary>
internal sealed class AuditVerifyCommand : Command
{
    private readonly KtConsole _console;

    private readonly Argument<string[]> _files = new("file")
    {
        Description = "An audit file. Give a day's files in date order (a shell glob does) to check that each continues the one before.",
        Arity = ArgumentArity.OneOrMore,
    };

    private readonly Option<string> _format = new("--format")
    {
        Description = "Output format: text (one line per file) or json (one object for scripts).",
        HelpName = "text|json",
        DefaultValueFactory = static _ => "text",
    };

    public AuditVerifyCommand(KtConsole console)
        : base("verify", "Check that immutable audit files were not edited, truncated, or had lines deleted, inserted or reordered.")
    {
        _console = console ?? throw new ArgumentNullException(nameof(console));
        _format.AcceptOnlyFromAmong("text", "json");
        Arguments.Add(_files);
        Options.Add(_format);
        SetAction(Execute);
    }

    private int Execute(ParseResult parseResult)
    {
        var files = parseResult.GetRequiredValue(_files);
        var json = string.Equals(parseResult.GetRequiredValue(_format), "json", StringComparison.Ordinal);

        var missing = false;
        foreach (var file in files)
        {
            var full = Path.GetFullPath(file, _console.WorkingDirectory);
            if (!File.Exists(full))
            {
                _console.Error.WriteLine(KtCommand.OneLine(Directory.Exists(full) ? $"kt: error: not a file (it is a directory): {file}" : $"kt: error: file not found: {file}"));
                missing = true;
            }
        }

        if (missing)
        {
            return ExitCodes.UsageOrIo;
        }

        var results = new List<FileResult>(files.Length);
        foreach (var file in files)
        {
            try
            {
                using var stream = new FileStream(Path.GetFullPath(file, _console.WorkingDirectory), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                results.Add(new FileResult(file, AuditFileVerifier.Verify(stream)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _console.Error.WriteLine(KtCommand.OneLine($"kt: error: cannot read {file}: {ex.Message}"));
                return ExitCodes.UsageOrIo;
            }
        }

        CheckContinuity(results);
        if (json)
        {
            WriteJson(results);
        }
        else
        {
            WriteText(results);
        }

        return results.TrueForAll(static r => r.Intact) ? ExitCodes.Success : ExitCodes.Findings;
    }

    /// <summary>A file whose first line names the previous file's last line must follow the file given before it.</summary>
    private static void CheckContinuity(List<FileResult> results)
    {
        for (var i = 1; i < results.Count; i++)
        {
            var (previous, current) = (results[i - 1], results[i]);
            if (previous.Verification is { IsIntact: true, LastHash: { } last }
                && current.Verification is { IsIntact: true, PrevFileHash: { } expected }
                && !string.Equals(last, expected, StringComparison.Ordinal))
            {
                results[i] = current with
                {
                    Continuity = $"line 1 does not continue {previous.File}: lines were deleted from the end of that file, or a file between them is missing",
                };
            }
        }
    }

    private void WriteText(List<FileResult> results)
    {
        foreach (var r in results)
        {
            var v = r.Verification;
            if (r.Continuity is not null)
            {
                _console.Out.WriteLine(KtCommand.OneLine($"{r.File}:1: tampered ({ProblemName(r)}): {r.Continuity}"));
            }
            else if (v.IsIntact)
            {
                _console.Out.WriteLine($"{r.File}: intact, {v.Lines} record{(v.Lines == 1 ? string.Empty : "s")}, last hash {v.LastHash}");
            }
            else if (v.Problem == AuditProblem.NoHashChain)
            {
                _console.Out.WriteLine(KtCommand.OneLine($"{r.File}: {v.Message}"));
            }
            else
            {
                _console.Out.WriteLine(KtCommand.OneLine($"{r.File}:{v.Line}: tampered ({ProblemName(r)}): {v.Message}"));
            }
        }

        var broken = results.Count(static r => !r.Intact);
        _console.Out.WriteLine(broken == 0
            ? $"{results.Count} file{(results.Count == 1 ? " is" : "s are")} intact"
            : $"{broken} of {results.Count} file{(results.Count == 1 ? string.Empty : "s")} failed verification");
    }

    private void WriteJson(List<FileResult> results)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteBoolean("intact", results.TrueForAll(static r => r.Intact));
            json.WriteStartArray("files");
            foreach (var r in results)
            {
                var v = r.Verification;
                json.WriteStartObject();
                json.WriteString("file", r.File);
                json.WriteBoolean("intact", r.Intact);
                json.WriteNumber("records", v.Lines);
                WriteNullable(json, "last_hash", r.Intact ? v.LastHash : null);
                if (r.Intact)
                {
                    json.WriteNull("line");
                }
                else
                {
                    json.WriteNumber("line", r.Continuity is not null ? 1 : v.Line ?? 0);
                }

                WriteNullable(json, "problem", r.Intact ? null : ProblemName(r));
                WriteNullable(json, "message", r.Continuity ?? v.Message);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        _console.Out.WriteLine(Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static string ProblemName(FileResult result) => result.Continuity is not null ? "file_chain_broken" : result.Verification.Problem switch
    {
        AuditProblem.NoHashChain => "no_hash_chain",
        AuditProblem.Invalid => "invalid",
        AuditProblem.Truncated => "truncated",
        AuditProblem.Edited => "edited",
        AuditProblem.DeletedOrInserted => "deleted_or_inserted",
        AuditProblem.Reordered => "reordered",
        AuditProblem.Duplicated => "duplicated",
        _ => "none",
    };

    private sealed record FileResult(string File, AuditVerification Verification)
    {
        public string? Continuity { get; init; }

        public bool Intact => Verification.IsIntact && Continuity is null;
    }
}
