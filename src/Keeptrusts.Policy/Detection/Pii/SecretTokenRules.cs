namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// Credentials without a prefix, judged by shape and randomness: Discord and Telegram bot tokens, Twilio
/// and Mailchimp keys, AWS secret keys next to an AWS word, and long high-entropy base64 or hex strings.
/// Random strings of this length almost always hold a digit, so the pass starts from digits.
/// </summary>
internal static class SecretTokenRules
{
    private const int MinEntropyLength = 20;
    private const int MinStandaloneLength = 32;
    private const int MaxTokenLength = 1024;

    private static readonly string[] SecretContext = ["key", "secret", "token", "passw", "pwd", "auth", "credential", "api", "bearer", "private"];
    private static readonly string[] AwsContext = ["aws", "secret"];
    private static readonly System.Buffers.SearchValues<char> TwilioBody = System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789");

    private static readonly string[] KnownPrefixes =
    [
        "sha1-", "sha256-", "sha384-", "sha512-", "pk_live_", "pk_test_", "sk-", "sk_", "rk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
        "github_pat_", "glpat-", "gldt-", "xox", "AKIA", "ASIA", "AIza", "npm_", "pypi-", "hf_", "eyJ", "SG.", "AKC", "dop_v1_",
    ];

    public static void Scan(ReadOnlySpan<char> text, List<PiiMatch> results)
    {
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOfAnyInRange('0', '9');
            if (next < 0)
            {
                return;
            }

            var at = i + next;
            var start = at;
            while (start > i && IsTokenChar(text[start - 1]))
            {
                start--;
            }

            var end = at;
            while (end < text.Length && IsTokenChar(text[end]))
            {
                end++;
            }

            Evaluate(text, start, end, results);
            i = end;
        }
    }

    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '_' or '-' or '.' or '=';

    private static bool IsBase64Char(char c) => char.IsAsciiLetterOrDigit(c) || c is '+' or '/' or '_' or '-' or '=';

    private static void Evaluate(ReadOnlySpan<char> text, int start, int end, List<PiiMatch> results)
    {
        while (end > start && text[end - 1] is '.' or '-' or '/')
        {
            end--;
        }

        while (start < end && text[start] is '.' or '/' or '-' or '=')
        {
            start++;
        }

        // "name=value" glued together: judge the value; trailing '=' is base64 padding.
        var assignment = text[start..end].TrimEnd('=').LastIndexOf('=');
        if (assignment >= 0)
        {
            start += assignment + 1;
        }

        var token = text[start..end];
        if (token.Length < MinEntropyLength)
        {
            MatchTelegram(text, start, end, results);
            return;
        }

        if (token.Length > MaxTokenLength)
        {
            return;
        }

        if (token.Contains('.'))
        {
            MatchDiscord(token, start, results);
            return;
        }

        if (IsPrefixed(token) || IsCryptoAddress(text, start, end))
        {
            return;
        }

        // Twilio account SIDs ("AC") and API keys ("SK"): 32 lower-case letters or digits after the prefix.
        if (token.Length == 34 && (token.StartsWith("SK") || token.StartsWith("AC"))
            && !token[2..].ContainsAnyExcept(TwilioBody))
        {
            results.Add(new PiiMatch(PiiEntityType.Secret, start, 34, 0.9, "twilio_api_key"));
            return;
        }

        var dashUs = token.IndexOf("-us", StringComparison.Ordinal);
        if (dashUs == 32 && AllHex(token[..32]) && token.Length <= 37 && !token[35..].ContainsAnyExceptInRange('0', '9'))
        {
            results.Add(new PiiMatch(PiiEntityType.Secret, start, token.Length, 0.9, "mailchimp_key"));
            return;
        }

        var hasContext = CharText.HasContextBefore(text, start, 48, SecretContext);
        if (AllHex(token))
        {
            // Hex is usually a hash or commit id; only a credential word next to it makes it a secret.
            if (hasContext && token.Length >= 32 && token.ContainsAnyInRange('a', 'f') != token.ContainsAnyInRange('A', 'F')
                && CharText.ShannonEntropy(token) >= 3.0)
            {
                results.Add(new PiiMatch(PiiEntityType.Secret, start, token.Length, 0.6, "high_entropy"));
            }

            return;
        }

        if (!AllBase64(token) || token.Contains("//", StringComparison.Ordinal) || !SecretValues.HasMixedClasses(token))
        {
            return;
        }

        var body = token.TrimEnd('=');
        if (body.Length == 40 && !body.ContainsAny('_', '-') && CharText.HasContextBefore(text, start, 64, AwsContext))
        {
            results.Add(new PiiMatch(PiiEntityType.Secret, start, token.Length, 0.9, "aws_secret_key"));
            return;
        }

        var entropy = CharText.ShannonEntropy(body);
        var standalone = body.Length >= MinStandaloneLength
            && entropy >= Math.Min(4.5, Math.Log2(body.Length) - 0.7)
            && body.Count('/') <= body.Length / 16
            && CountDigits(body) >= 2;
        if (standalone || (hasContext && entropy >= 3.5 && !SecretValues.IsWordLike(body)))
        {
            results.Add(new PiiMatch(PiiEntityType.Secret, start, token.Length, standalone ? 0.65 : 0.6, "high_entropy"));
        }
    }

    // A provider prefix makes the prefix rules authoritative: a token that claims one but has the wrong shape is
    // a fixture or a truncation, not an unknown secret. Content hashes ("sha512-…" in lock files), publishable
    // Stripe keys and documentation samples ("…EXAMPLE…") are public by design.
    private static bool IsPrefixed(ReadOnlySpan<char> token)
    {
        foreach (var prefix in KnownPrefixes)
        {
            if (token.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return token.Contains("EXAMPLE", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsCryptoAddress(ReadOnlySpan<char> text, int start, int end)
    {
        var token = text[start..end];
        return (token[0] is '1' or '3' && Checksums.IsBase58CheckAddress(token))
            || (token.StartsWith("bc1", StringComparison.OrdinalIgnoreCase) && Checksums.IsBech32Address(token));
    }

    // Bot token: base64 of the numeric user id, a six-character timestamp and an HMAC.
    private static void MatchDiscord(ReadOnlySpan<char> token, int start, List<PiiMatch> results)
    {
        var firstDot = token.IndexOf('.');
        var secondDot = token[(firstDot + 1)..].IndexOf('.') + firstDot + 1;
        if (secondDot <= firstDot || token[(secondDot + 1)..].Contains('.'))
        {
            return;
        }

        var id = token[..firstDot];
        var stamp = token[(firstDot + 1)..secondDot];
        var hmac = token[(secondDot + 1)..];
        if (id.Length is >= 24 and <= 26 && id[0] is 'M' or 'N' or 'O' && stamp.Length == 6 && hmac.Length is >= 27 and <= 38
            && AllBase64Url(id) && AllBase64Url(stamp) && AllBase64Url(hmac))
        {
            results.Add(new PiiMatch(PiiEntityType.Secret, start, token.Length, 0.9, "discord_token"));
        }
    }

    // "<bot id>:<35 characters>"
    private static void MatchTelegram(ReadOnlySpan<char> text, int start, int end, List<PiiMatch> results)
    {
        if (end - start is < 8 or > 10 || text[start..end].ContainsAnyExceptInRange('0', '9') || CharText.At(text, end) != ':')
        {
            return;
        }

        var secretEnd = end + 1;
        while (secretEnd < text.Length && (char.IsAsciiLetterOrDigit(text[secretEnd]) || text[secretEnd] is '_' or '-'))
        {
            secretEnd++;
        }

        if (secretEnd - (end + 1) == 35 && text[end + 1] == 'A')
        {
            results.Add(new PiiMatch(PiiEntityType.Secret, start, secretEnd - start, 0.9, "telegram_bot_token"));
        }
    }

    private static bool AllHex(ReadOnlySpan<char> value) => !value.ContainsAnyExcept("0123456789abcdefABCDEF");

    private static bool AllBase64(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!IsBase64Char(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool AllBase64Url(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static int CountDigits(ReadOnlySpan<char> value)
    {
        var n = 0;
        foreach (var c in value)
        {
            n += CharText.IsDigit(c) ? 1 : 0;
        }

        return n;
    }
}
