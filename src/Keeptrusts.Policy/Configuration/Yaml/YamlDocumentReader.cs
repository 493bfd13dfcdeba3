using System.Globalization;
using System.Text.RegularExpressions;
using Keeptrusts.Policy.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Keeptrusts.Policy.Configuration.Yaml;

/// <summary>
/// Reads one YAML document into a <see cref="ConfigNode"/> tree with positions. Hostile input is bounded:
/// nesting depth and the number of nodes after alias expansion are capped, so neither a deeply nested
/// document nor a billion-laughs document can exhaust the stack or memory.
/// </summary>
internal static partial class YamlDocumentReader
{
    public const int MaxDepth = 64;
    public const int MaxNodes = 100_000;

    public static ConfigNode? Read(string text, string file, List<ConfigDiagnostic> diagnostics)
    {
        var state = new ReaderState(file, diagnostics);
        var parser = new Parser(new StringReader(text));
        try
        {
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                state.Report(DiagnosticCodes.EmptyDocument, "the document is empty; a policy configuration is a mapping with at least a 'pack' section", SourceLocation.OfFile(file));
                return null;
            }

            var documentStart = parser.Consume<DocumentStart>();
            ConfigNode root;
            if (parser.Accept<DocumentEnd>(out _))
            {
                state.Report(DiagnosticCodes.EmptyDocument, "the document is empty; a policy configuration is a mapping with at least a 'pack' section", state.Locate(documentStart.Start));
                return null;
            }

            root = state.ReadNode(parser, depth: 1);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                state.Report(DiagnosticCodes.MultipleDocuments, "the file holds more than one YAML document ('---'); put each layer in its own file and pass the files in order", state.Locate(second.Start));
                return null;
            }

            if (root is ConfigScalar { IsNull: true })
            {
                state.Report(DiagnosticCodes.EmptyDocument, "the document is empty; a policy configuration is a mapping with at least a 'pack' section", root.Location);
                return null;
            }

            return root;
        }
        catch (YamlException ex)
        {
            state.Report(DiagnosticCodes.YamlSyntax, CleanMessage(ex.Message), state.Locate(ex.Start));
            return null;
        }
        catch (ReaderAbortedException)
        {
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {
            // The parser rejects some malformed input (such as an invalid tag) with exceptions outside its own
            // hierarchy; to the author they are syntax errors all the same.
            var at = parser.Current is { } current ? state.Locate(current.End) : new SourceLocation(file, 1, 1);
            state.Report(DiagnosticCodes.YamlSyntax, CleanMessage(ex.Message.Split(" (Parameter", 2)[0]), at);
            return null;
        }
    }

    private static string CleanMessage(string message)
    {
        // YamlDotNet prefixes messages with "(Line: 1, Col: 2, Idx: 3) - (Line: ...): "; the position is reported separately.
        var cleaned = PositionPrefix().Replace(message, string.Empty).Trim();
        if (cleaned.Length == 0)
        {
            return "invalid YAML";
        }

        return char.ToLowerInvariant(cleaned[0]) + cleaned[1..].TrimEnd('.');
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*")]
    private static partial Regex PositionPrefix();

    [GeneratedRegex(@"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$", RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();

    internal static ScalarKind Resolve(Scalar scalar)
    {
        var tag = scalar.Tag.IsEmpty ? null : scalar.Tag.Value;
        switch (tag)
        {
            case "tag:yaml.org,2002:str" or "!":
                return ScalarKind.String;
            case "tag:yaml.org,2002:null":
                return ScalarKind.Null;
            case "tag:yaml.org,2002:bool":
                return ScalarKind.Boolean;
            case "tag:yaml.org,2002:int":
                return ScalarKind.Integer;
            case "tag:yaml.org,2002:float":
                return ScalarKind.Float;
        }

        if (scalar.Style is not ScalarStyle.Plain)
        {
            return ScalarKind.String;
        }

        var v = scalar.Value;
        return v switch
        {
            "" or "~" or "null" or "Null" or "NULL" => ScalarKind.Null,
            "true" or "True" or "TRUE" or "false" or "False" or "FALSE" => ScalarKind.Boolean,
            _ when v.Length <= 64 && IntegerPattern().IsMatch(v) => ScalarKind.Integer,
            _ when v.Length <= 64 && FloatPattern().IsMatch(v) => ScalarKind.Float,
            _ => ScalarKind.String,
        };
    }

    private sealed class ReaderAbortedException : Exception
    {
    }

    private sealed class ReaderState(string file, List<ConfigDiagnostic> diagnostics)
    {
        private readonly Dictionary<string, (ConfigNode Node, int Size)> _anchors = new(StringComparer.Ordinal);
        private int _nodes;

        public SourceLocation Locate(Mark mark) => new(file, (int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

        public void Report(string code, string message, SourceLocation location) =>
            diagnostics.Add(new ConfigDiagnostic(code, DiagnosticSeverity.Error, message, location, string.Empty));

        private void Count(int size, SourceLocation location)
        {
            _nodes += size;
            if (_nodes > MaxNodes)
            {
                Report(DiagnosticCodes.AliasExpansion, string.Create(CultureInfo.InvariantCulture, $"the document expands to more than {MaxNodes} nodes (anchors and aliases multiply what they repeat); a policy configuration is never that large"), location);
                throw new ReaderAbortedException();
            }
        }

        public ConfigNode ReadNode(IParser parser, int depth)
        {
            var ev = parser.Current ?? throw new YamlException("unexpected end of the document");
            var location = Locate(ev.Start);
            if (depth > MaxDepth)
            {
                Report(DiagnosticCodes.NestingTooDeep, string.Create(CultureInfo.InvariantCulture, $"the document nests deeper than {MaxDepth} levels; a policy configuration never needs that"), location);
                throw new ReaderAbortedException();
            }

            switch (ev)
            {
                case AnchorAlias alias:
                    parser.MoveNext();
                    if (!_anchors.TryGetValue(alias.Value.Value, out var anchored))
                    {
                        Report(DiagnosticCodes.YamlSyntax, $"alias '*{alias.Value.Value}' refers to no anchor defined before it", location);
                        throw new ReaderAbortedException();
                    }

                    Count(anchored.Size, location);
                    return anchored.Node;

                case Scalar scalar:
                {
                    parser.MoveNext();
                    Count(1, location);
                    var node = new ConfigScalar(location, scalar.Value, Resolve(scalar));
                    Remember(scalar.Anchor, node, 1);
                    return node;
                }

                case SequenceStart start:
                {
                    parser.MoveNext();
                    var before = _nodes;
                    Count(1, location);
                    var items = new List<ConfigNode>();
                    while (!parser.Accept<SequenceEnd>(out _))
                    {
                        items.Add(ReadNode(parser, depth + 1));
                    }

                    parser.MoveNext();
                    var node = new ConfigSequence(location, items);
                    Remember(start.Anchor, node, _nodes - before);
                    return node;
                }

                case MappingStart start:
                {
                    parser.MoveNext();
                    var before = _nodes;
                    Count(1, location);
                    var node = ReadMapping(parser, depth, location);
                    Remember(start.Anchor, node, _nodes - before);
                    return node;
                }

                default:
                    throw new YamlException(ev.Start, ev.End, $"unexpected {ev.GetType().Name}");
            }
        }

        private ConfigMapping ReadMapping(IParser parser, int depth, SourceLocation location)
        {
            var entries = new List<ConfigEntry>();
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            List<ConfigMapping>? mergeSources = null;
            while (!parser.Accept<MappingEnd>(out _))
            {
                var keyEvent = parser.Current!;
                var keyNode = ReadNode(parser, depth + 1);
                var valueNode = ReadNode(parser, depth + 1);
                if (keyNode is not ConfigScalar key || key.IsNull)
                {
                    Report(DiagnosticCodes.InvalidKey, "mapping keys must be plain text; a list, mapping or null cannot be a key", keyNode.Location);
                    continue;
                }

                if (key.Value == "<<" && keyEvent is Scalar { Style: ScalarStyle.Plain })
                {
                    mergeSources ??= [];
                    CollectMergeSources(valueNode, mergeSources);
                    continue;
                }

                if (seen.TryGetValue(key.Value!, out var first))
                {
                    Report(DiagnosticCodes.DuplicateKey, string.Create(CultureInfo.InvariantCulture, $"duplicate key '{key.Value}' (first defined at line {entries[first].Key.Location.Line}); YAML keys must be unique, and silently keeping one would hide a mistake"), key.Location);
                    continue;
                }

                seen[key.Value!] = entries.Count;
                entries.Add(new ConfigEntry(key, valueNode));
            }

            parser.MoveNext();
            if (mergeSources is not null)
            {
                foreach (var source in mergeSources)
                {
                    foreach (var entry in source.Entries)
                    {
                        if (seen.TryAdd(entry.Key.Value!, entries.Count))
                        {
                            entries.Add(entry);
                        }
                    }
                }
            }

            return new ConfigMapping(location, entries);
        }

        private void CollectMergeSources(ConfigNode value, List<ConfigMapping> into)
        {
            switch (value)
            {
                case ConfigMapping map:
                    into.Add(map);
                    break;
                case ConfigSequence seq when seq.Items.All(i => i is ConfigMapping):
                    into.AddRange(seq.Items.Cast<ConfigMapping>());
                    break;
                default:
                    Report(DiagnosticCodes.YamlSyntax, "a merge key '<<' takes a mapping or a list of mappings (usually '*anchor')", value.Location);
                    break;
            }
        }

        private void Remember(AnchorName anchor, ConfigNode node, int size)
        {
            if (!anchor.IsEmpty)
            {
                _anchors[anchor.Value] = (node, size);
            }
        }
    }
}
