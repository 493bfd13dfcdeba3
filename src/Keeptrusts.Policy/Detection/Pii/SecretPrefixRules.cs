using System.Buffers;
using System.Buffers.Text;

namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// Credentials whose issuer stamps a fixed prefix on them. One vectorised search finds every prefix; each hit
/// is then checked against the real length and alphabet of that provider's tokens.
/// </summary>
internal static class SecretPrefixRules
{
    // Prefixes without '-' or '_' are found as strings; a short list keeps the multi-string search fast.
    private static readonly SearchValues<string> LetterPrefixes = SearchValues.Create(
        ["AKIA", "ASIA", "ABIA", "ACCA", "AIza", "AKC", "AP", "eyJ", "GR1348941", "SG.", "hooks.slack.com/services/"],
        StringComparison.Ordinal);

    // Every other prefix holds a '-' or '_': find those characters, then look at the word they belong to.
    private static readonly SearchValues<char> PrefixSeparators = SearchValues.Create("-_");

    private static readonly string[] SeparatedPrefixes =
    [
        "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glsoat-", "gloas-",
        "glcbt-", "glimt-", "glagent-", "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "sk_live_", "rk_live_", "sk-",
        "npm_", "pypi-", "hf_", "shpat_", "shpss_", "shpca_", "shppa_", "dop_v1_", "-----BEGIN ",
    ];

    private static readonly SearchValues<char> SeparatedPrefixStarts = SearchValues.Create("ghxsrnpd-");

    private const int LongestSeparatedPrefix = 11;

    private const string PrivateKeyHeader = "-----BEGIN ";

    public static void Scan(ReadOnlySpan<char> text, List<PiiMatch> results)
    {
        var keyEndSearchedUntil = -1;
        var nextKeyEnd = -1;
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOfAny(LetterPrefixes);
            if (next < 0)
            {
                break;
            }

            var at = i + next;
            i = Math.Max(Match(text, at, results, ref keyEndSearchedUntil, ref nextKeyEnd), at + 1);
        }

        i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOfAny(PrefixSeparators);
            if (next < 0)
            {
                return;
            }

            var separator = i + next;
            var end = 0;
            var start = SeparatedPrefixStart(text, i, separator);
            if (start >= 0)
            {
                end = Match(text, start, results, ref keyEndSearchedUntil, ref nextKeyEnd);
            }

            i = Math.Max(end, separator + 1);
        }
    }

    // Where a known prefix containing the separator at `separator` begins, or -1.
    private static int SeparatedPrefixStart(ReadOnlySpan<char> text, int floor, int separator)
    {
        var from = Math.Max(floor, separator - LongestSeparatedPrefix);
        for (var start = separator; start >= from; start--)
        {
            if (!SeparatedPrefixStarts.Contains(text[start]))
            {
                continue;
            }

            foreach (var prefix in SeparatedPrefixes)
            {
                if (prefix[0] == text[start] && start + prefix.Length > separator && text[start..].StartsWith(prefix, StringComparison.Ordinal))
                {
                    return start;
                }
            }
        }

        return -1;
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    private static int TokenEnd(ReadOnlySpan<char> text, int from)
    {
        var end = from;
        while (end < text.Length && IsTokenChar(text[end]))
        {
            end++;
        }

        return end;
    }

    private static bool AllChars(ReadOnlySpan<char> value, Func<char, bool> allowed)
    {
        foreach (var c in value)
        {
            if (!allowed(c))
            {
                return false;
            }
        }

        return true;
    }

    private static int Add(List<PiiMatch> results, int start, int end, string subtype, double score = 0.99)
    {
        results.Add(new PiiMatch(PiiEntityType.Secret, start, end - start, score, subtype));
        return end;
    }

    private static int Match(ReadOnlySpan<char> text, int at, List<PiiMatch> results, ref int keyEndSearchedUntil, ref int nextKeyEnd)
    {
        var rest = text[at..];
        if (rest.StartsWith(PrivateKeyHeader))
        {
            return MatchPrivateKey(text, at, results, ref keyEndSearchedUntil, ref nextKeyEnd);
        }

        if (rest.StartsWith("hooks.slack.com/services/"))
        {
            return MatchSlackWebhook(text, at, results);
        }

        // Every other prefix opens a token: it must not continue a longer word ("task-based" holds "sk-").
        if (at > 0 && (IsTokenChar(text[at - 1]) || text[at - 1] == '.'))
        {
            return 0;
        }

        var end = TokenEnd(text, at);
        var token = text[at..end];
        switch (token[0])
        {
            case 'A' when token.StartsWith("AIza"):
                return token.Length == 39 ? Add(results, at, end, "google_api_key") : 0;
            case 'A' when token.StartsWith("AKC") || token.StartsWith("AP"):
                return IsArtifactoryToken(text, at, end) ? Add(results, at, end, "artifactory_token") : 0;
            case 'A':
                return token.Length == 20 && AllChars(token[4..], static c => char.IsAsciiLetterUpper(c) || CharText.IsDigit(c))
                    && !token.Contains("EXAMPLE", StringComparison.Ordinal)
                    ? Add(results, at, end, "aws_access_key") : 0;
            case 'g' when token.StartsWith("github_pat_"):
                return token.Length >= 11 + 70 ? Add(results, at, end, "github_token") : 0;
            case 'g' when token[1] == 'h':
                return token.Length is >= 40 and <= 255 && AllChars(token[4..], char.IsAsciiLetterOrDigit) && SecretValues.HasMixedClasses(token[4..])
                    ? Add(results, at, end, "github_token") : 0;
            case 'g' or 'G':
                return IsGitLabToken(token) ? Add(results, at, end, "gitlab_token") : 0;
            case 'x':
                if (token.StartsWith("xox") && token.Length >= 15 && token.Count('-') >= 2 && token[5..].ContainsAnyInRange('0', '9'))
                {
                    return Add(results, at, end, "slack_token");
                }

                return 0;
            case 's' or 'r' when token[2] == '_':
                return token.Length >= 8 + 20 && AllChars(token[8..], char.IsAsciiLetterOrDigit) ? Add(results, at, end, "stripe_key") : 0;
            case 's' when token.StartsWith("sk-ant-"):
                return token.Length >= 7 + 32 && SecretValues.HasMixedClasses(token) ? Add(results, at, end, "anthropic_key") : 0;
            case 's' when token.StartsWith("shp"):
                return token.Length == 6 + 32 && AllChars(token[6..], char.IsAsciiHexDigit) ? Add(results, at, end, "shopify_token") : 0;
            case 's':
                return IsOpenAiKey(token) ? Add(results, at, end, "openai_key") : 0;
            case 'S':
                return MatchSendGrid(text, at, results);
            case 'n':
                return token.Length == 4 + 36 && AllChars(token[4..], char.IsAsciiLetterOrDigit) && SecretValues.HasMixedClasses(token[4..])
                    ? Add(results, at, end, "npm_token") : 0;
            case 'p':
                return (token.StartsWith("pypi-AgEIcHlwaS5vcmc") && token.Length >= 20 + 70)
                    || (token.StartsWith("pypi-AgENdGVzdC5weXBpLm9yZw") && token.Length >= 27 + 70)
                    ? Add(results, at, end, "pypi_token") : 0;
            case 'h':
                return token.Length >= 3 + 30 && AllChars(token[3..], char.IsAsciiLetterOrDigit) && SecretValues.HasMixedClasses(token[3..])
                    ? Add(results, at, end, "huggingface_token") : 0;
            case 'd':
                return token.Length == 7 + 64 && AllChars(token[7..], char.IsAsciiHexDigit) ? Add(results, at, end, "digitalocean_token") : 0;
            case 'e':
                return MatchJwt(text, at, results);
            default:
                return 0;
        }
    }

    // OpenAI keys carry "T3BlbkFJ" (base64 of "OpenAI"); newer project and service keys are also much longer.
    private static bool IsOpenAiKey(ReadOnlySpan<char> token)
    {
        if (token.Contains("T3BlbkFJ", StringComparison.Ordinal) && token.Length >= 40)
        {
            return true;
        }

        return (token.StartsWith("sk-proj-") || token.StartsWith("sk-svcacct-") || token.StartsWith("sk-admin-"))
            && token.Length >= 100 && SecretValues.HasMixedClasses(token);
    }

    private static int MatchSendGrid(ReadOnlySpan<char> text, int at, List<PiiMatch> results)
    {
        var first = TokenEnd(text, at + 3);
        if (first - (at + 3) != 22 || CharText.At(text, first) != '.')
        {
            return 0;
        }

        var second = TokenEnd(text, first + 1);
        return second - (first + 1) == 43 && CharText.At(text, second) != '.' ? Add(results, at, second, "sendgrid_key") : 0;
    }

    // header.payload.signature in base64url, and the header must decode to a JSON object naming its "alg".
    private static int MatchJwt(ReadOnlySpan<char> text, int at, List<PiiMatch> results)
    {
        var headerEnd = TokenEnd(text, at);
        if (CharText.At(text, headerEnd) != '.' || headerEnd - at > 2048)
        {
            return 0;
        }

        var payloadEnd = TokenEnd(text, headerEnd + 1);
        if (payloadEnd == headerEnd + 1 || CharText.At(text, payloadEnd) != '.')
        {
            return 0;
        }

        var signatureEnd = TokenEnd(text, payloadEnd + 1);
        if (CharText.At(text, signatureEnd) == '.' && CharText.IsWordCharAt(text, signatureEnd + 1))
        {
            return 0;
        }

        var header = text[at..headerEnd];
        Span<byte> decoded = stackalloc byte[(header.Length * 3 / 4) + 3];
        if (Base64Url.DecodeFromChars(header, decoded, out _, out var written) != OperationStatus.Done)
        {
            return 0;
        }

        var json = decoded[..written].Trim(" \t\r\n"u8);
        if (json.IsEmpty || json[0] != (byte)'{' || json.IndexOf("\"alg\""u8) < 0)
        {
            return 0;
        }

        return Add(results, at, signatureEnd, "jwt", 0.95);
    }

    // GitLab's token formats: each prefix has its own body length (detect-secrets' GitLab plugin); a string with the
    // prefix but the wrong length is not a token, and neither is a body of one repeated character.
    private static bool IsGitLabToken(ReadOnlySpan<char> token)
    {
        var separator = token.StartsWith("GR1348941") ? 8 : token.IndexOf('-');
        if (separator <= 0)
        {
            return false;
        }

        var prefix = token[..separator];
        var body = token[(separator + 1)..];
        if (prefix is "glcbt" && body.Length > 3 && body[2] == '_' && char.IsAsciiHexDigit(body[0]) && char.IsAsciiHexDigit(body[1]))
        {
            body = body[3..];
        }

        var (min, max) = prefix switch
        {
            "glpat" or "gldt" or "glft" or "glsoat" or "glrt" or "GR134894" or "glcbt" => (20, 50),
            "glimt" => (25, 25),
            "glptt" => (40, 40),
            "glagent" => (50, 1024),
            "gloas" => (64, 64),
            _ => (0, -1),
        };
        return body.Length >= min && body.Length <= max
            && AllChars(body, static c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')
            && !SecretValues.IsRepetitive(body);
    }

    // Artifactory API keys ("AKC" + at least 10) and passwords/reference tokens ("AP" + a hex digit + at least 8),
    // alphanumeric and standing alone: after a space, '=', ':' or a quote, and ending at a space, a quote or the
    // end. A capitalised word such as "APEXLEGENDS" is not a credential, so the body needs a digit or a lower-case letter.
    private static bool IsArtifactoryToken(ReadOnlySpan<char> text, int at, int end)
    {
        var token = text[at..end];
        var minimum = token.StartsWith("AKC") ? 3 + 10 : 3 + 8;
        if (token.Length < minimum || (token[1] == 'P' && !(char.IsAsciiDigit(token[2]) || token[2] is >= 'A' and <= 'F'))
            || !AllChars(token, char.IsAsciiLetterOrDigit)
            || !(token[3..].ContainsAnyInRange('0', '9') || token[3..].ContainsAnyInRange('a', 'z')))
        {
            return false;
        }

        var before = at == 0 ? ' ' : text[at - 1];
        var after = end >= text.Length ? ' ' : text[end];
        return (char.IsWhiteSpace(before) || before is '=' or ':' or '"' or '\'') && (char.IsWhiteSpace(after) || after is '"' or '\'');
    }

    private static int MatchSlackWebhook(ReadOnlySpan<char> text, int at, List<PiiMatch> results)
    {
        var pathStart = at + "hooks.slack.com/services/".Length;
        var end = pathStart;
        var slashes = 0;
        while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] == '/'))
        {
            slashes += text[end] == '/' ? 1 : 0;
            end++;
        }

        if (slashes != 2 || end - pathStart < 20)
        {
            return 0;
        }

        var start = at;
        if (at >= 8 && text[(at - 8)..at] is "https://")
        {
            start = at - 8;
        }

        return Add(results, start, end, "slack_webhook");
    }

    private static int MatchPrivateKey(ReadOnlySpan<char> text, int at, List<PiiMatch> results, ref int endSearchedUntil, ref int nextEnd)
    {
        var labelStart = at + PrivateKeyHeader.Length;
        var labelLength = text[labelStart..].IndexOf("-----", StringComparison.Ordinal);
        if (labelLength is < 0 or > 40)
        {
            return 0;
        }

        var label = text.Slice(labelStart, labelLength);
        if (!label.EndsWith("PRIVATE KEY", StringComparison.Ordinal) && label is not "PGP PRIVATE KEY BLOCK")
        {
            return 0;
        }

        var bodyStart = labelStart + labelLength + 5;

        // Remember where the next END marker is so a text full of BEGIN lines is still searched once.
        if (nextEnd < bodyStart && endSearchedUntil < text.Length)
        {
            var found = text[bodyStart..].IndexOf("-----END ", StringComparison.Ordinal);
            nextEnd = found < 0 ? -1 : bodyStart + found;
            endSearchedUntil = found < 0 ? text.Length : nextEnd;
        }

        int end;
        if (nextEnd >= bodyStart)
        {
            var close = text[(nextEnd + 9)..].IndexOf("-----", StringComparison.Ordinal);
            end = close is >= 0 and <= 40 ? nextEnd + 9 + close + 5 : nextEnd + 9;
        }
        else
        {
            // Truncated block: take the base64 body that follows the header.
            end = bodyStart;
            while (end < text.Length && (char.IsAsciiLetterOrDigit(text[end]) || text[end] is '+' or '/' or '=' or '\r' or '\n'))
            {
                end++;
            }
        }

        return Add(results, at, end, "private_key");
    }
}
