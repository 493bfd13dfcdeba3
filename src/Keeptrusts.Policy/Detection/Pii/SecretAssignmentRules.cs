using System.Buffers;

namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>
/// Credentials given a name: <c>password = "…"</c>, <c>"api_key": "…"</c>, <c>AccountKey=…;</c>,
/// <c>Authorization: Bearer …</c>, npm's <c>:_authToken=…</c>, and the password of
/// <c>scheme://user:password@host</c>. Found from the <c>=</c> and <c>:</c> that separate a name from its value.
/// </summary>
internal static class SecretAssignmentRules
{
    private const int MaxKey = 64;
    private const int MaxValue = 512;

    private static readonly SearchValues<char> Separators = SearchValues.Create("=:");

    private static readonly SearchValues<string> KeyFragments = SearchValues.Create(
    [
        "password", "passwd", "passphrase", "passcode", "pwd", "secret", "token", "apikey", "api_key", "api-key",
        "accesskey", "access_key", "access-key", "privatekey", "private_key", "private-key", "credential", "authorization",
        "authkey", "auth_key", "clientkey", "client_key", "signingkey", "signing_key", "encryptionkey", "encryption_key",
    ], StringComparison.OrdinalIgnoreCase);

    private static readonly string[] LastSegments = ["key", "keys", "pw", "pass", "auth", "sig"];

    private static readonly SearchValues<char> UnquotedStops = SearchValues.Create(" \t\r\n,;)}]>\"'`&");

    public static void Scan(ReadOnlySpan<char> text, List<PiiMatch> results)
    {
        var i = 0;
        while (i < text.Length)
        {
            var next = text[i..].IndexOfAny(Separators);
            if (next < 0)
            {
                return;
            }

            var at = i + next;
            i = Math.Max(at + 1, TryAt(text, at, results));
        }
    }

    private static int TryAt(ReadOnlySpan<char> text, int at, List<PiiMatch> results)
    {
        var c = text[at];
        var following = CharText.At(text, at + 1);
        var valueFrom = at + 1;
        if (c == ':')
        {
            if (following == '/' && CharText.At(text, at + 2) == '/')
            {
                return MatchUrlCredentials(text, at, results);
            }

            if (following == ':')
            {
                return at + 2;
            }

            if (following == '=')
            {
                valueFrom++;
            }
        }
        else
        {
            var previous = CharText.At(text, at - 1);
            if (following == '=' || previous is '=' or '!' or '<' or '>' or ':')
            {
                return at + 2;
            }

            if (following == '>')
            {
                valueFrom++;
            }
        }

        var keyEnd = at;
        while (keyEnd > 0 && at - keyEnd < 4 && text[keyEnd - 1] is ' ' or '\t')
        {
            keyEnd--;
        }

        if (keyEnd > 0 && text[keyEnd - 1] is '"' or '\'')
        {
            keyEnd--;
        }

        var keyStart = keyEnd;
        while (keyStart > 0 && keyEnd - keyStart <= MaxKey && IsKeyChar(text[keyStart - 1]))
        {
            keyStart--;
        }

        if (keyStart == keyEnd || keyEnd - keyStart > MaxKey)
        {
            return 0;
        }

        var key = text[keyStart..keyEnd];
        var npmAuth = key.Equals("_authToken", StringComparison.OrdinalIgnoreCase) && CharText.At(text, keyStart - 1) == ':';
        if (!npmAuth && !IsSecretName(key))
        {
            return 0;
        }

        var (valueStart, valueEnd) = ReadValue(text, valueFrom);
        if (valueEnd < 0)
        {
            return 0;
        }

        var value = text[valueStart..valueEnd];
        if (npmAuth)
        {
            return value.Length >= 8 && value[0] != '$' ? Add(results, valueStart, valueEnd, "npm_token", 0.9) : 0;
        }

        var passwordLike = IsPasswordName(key);
        if (value.Length < (passwordLike ? 6 : 8) || SecretValues.IsPlaceholder(value) || SecretValues.IsWordLike(value)
            || SecretValues.IsCodeExpression(value) || (value.Length < 10 && !value.ContainsAnyExceptInRange('0', '9')))
        {
            return 0;
        }

        var subtype = key.Equals("AccountKey", StringComparison.OrdinalIgnoreCase) || key.Equals("SharedAccessKey", StringComparison.OrdinalIgnoreCase)
            ? "azure_storage_key"
            : passwordLike ? "password" : "generic_secret";
        return Add(results, valueStart, valueEnd, subtype, passwordLike ? 0.8 : 0.85);
    }

    private static int Add(List<PiiMatch> results, int start, int end, string subtype, double score)
    {
        results.Add(new PiiMatch(PiiEntityType.Secret, start, end - start, score, subtype));
        return end;
    }

    private static bool IsKeyChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.';

    private static (int Start, int End) ReadValue(ReadOnlySpan<char> text, int from)
    {
        var start = from;
        while (start < text.Length && start - from < 4 && text[start] is ' ' or '\t')
        {
            start++;
        }

        var quote = CharText.At(text, start);
        if (quote is '"' or '\'' or '`')
        {
            var close = text[(start + 1)..Math.Min(text.Length, start + 2 + MaxValue)].IndexOfAny(quote, '\n');
            if (close >= 0 && text[start + 1 + close] == quote)
            {
                return SkipScheme(text, start + 1, start + 1 + close);
            }

            // An unterminated quote is a fragment of prose or code, not a value.
            return (0, -1);
        }

        var end = start;
        var limit = Math.Min(text.Length, start + MaxValue + 1);
        var stop = text[start..limit].IndexOfAny(UnquotedStops);
        end = stop < 0 ? limit : start + stop;
        if (end - start > MaxValue)
        {
            return (0, -1);
        }

        // A sentence that ends right after the value: "the password is set in PASSWORD=abc123."
        while (end > start && text[end - 1] is '.' or ':')
        {
            end--;
        }

        return SkipScheme(text, start, end);
    }

    // "Authorization: Bearer <token>": the credential is the word after the scheme.
    private static (int Start, int End) SkipScheme(ReadOnlySpan<char> text, int start, int end)
    {
        var value = text[start..end];
        foreach (var scheme in (ReadOnlySpan<string>)["Bearer", "Basic", "Token", "Digest"])
        {
            if (value.Length > scheme.Length + 1 && value.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) && value[scheme.Length] == ' ')
            {
                var inner = start + scheme.Length + 1;
                var stop = text[inner..end].IndexOfAny(UnquotedStops);
                return (inner, stop < 0 ? end : inner + stop);
            }
        }

        if (end == start + MaxValue + 1 || value.IsEmpty)
        {
            return (0, -1);
        }

        // A multi-word quoted value is prose ("password": "see the vault"), not a credential.
        return value.Contains(' ') ? (0, -1) : (start, end);
    }

    /// <summary>Whether a configuration key names a credential: by a fragment (<c>…_password</c>, <c>apiKey</c>) or its last word (<c>AccountKey</c>, <c>db_pw</c>).</summary>
    public static bool IsSecretName(ReadOnlySpan<char> key)
    {
        if (key.ContainsAny(KeyFragments))
        {
            return true;
        }

        var last = LastSegment(key);
        foreach (var segment in LastSegments)
        {
            if (last.Equals(segment, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsPasswordName(ReadOnlySpan<char> key) =>
        key.Contains("pass", StringComparison.OrdinalIgnoreCase) || key.Contains("pwd", StringComparison.OrdinalIgnoreCase)
        || LastSegment(key).Equals("pw", StringComparison.OrdinalIgnoreCase);

    // The last word of snake_case, kebab-case, dotted or camelCase names: "AccountKey" -> "Key", "db.pw" -> "pw".
    private static ReadOnlySpan<char> LastSegment(ReadOnlySpan<char> key)
    {
        var end = key.Length;
        while (end > 0 && key[end - 1] is '_' or '-' or '.')
        {
            end--;
        }

        var start = end;
        while (start > 0 && char.IsAsciiLetterOrDigit(key[start - 1]))
        {
            start--;
            if (char.IsAsciiLetterUpper(key[start]) && start > 0 && char.IsAsciiLetterLower(key[start - 1]))
            {
                break;
            }
        }

        return key[start..end];
    }

    // "scheme://user:password@host": flags the password; the user name and host are not secret.
    private static int MatchUrlCredentials(ReadOnlySpan<char> text, int colon, List<PiiMatch> results)
    {
        var schemeStart = colon;
        while (schemeStart > 0 && colon - schemeStart < 20 && (char.IsAsciiLetterOrDigit(text[schemeStart - 1]) || text[schemeStart - 1] is '+' or '.' or '-'))
        {
            schemeStart--;
        }

        if (schemeStart == colon || !char.IsAsciiLetter(text[schemeStart]))
        {
            return colon + 3;
        }

        var userStart = colon + 3;
        var pos = userStart;
        while (pos < text.Length && pos - userStart < 128 && IsUserInfoChar(text[pos]) && text[pos] != ':')
        {
            pos++;
        }

        if (CharText.At(text, pos) != ':' || pos == userStart)
        {
            return colon + 3;
        }

        var passwordStart = pos + 1;
        var passwordEnd = passwordStart;
        while (passwordEnd < text.Length && passwordEnd - passwordStart < 256 && IsUserInfoChar(text[passwordEnd]))
        {
            passwordEnd++;
        }

        if (CharText.At(text, passwordEnd) != '@' || passwordEnd == passwordStart || !char.IsAsciiLetterOrDigit(CharText.At(text, passwordEnd + 1)))
        {
            return colon + 3;
        }

        var password = text[passwordStart..passwordEnd];
        if (SecretValues.IsPlaceholder(password))
        {
            return passwordEnd;
        }

        return Add(results, passwordStart, passwordEnd, "basic_auth", 0.9);
    }

    // RFC 3986 userinfo characters, minus quotes: a quote means the URL ended earlier.
    private static bool IsUserInfoChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '%' or '!' or '$' or '&' or '*' or '+' or ',' or ';' or '=' or ':';
}
