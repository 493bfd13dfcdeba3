using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Keeptrusts.Policy.Policies.AuditLogger;

/// <summary>What is wrong with an audit file, if anything.</summary>
public enum AuditProblem
{
    /// <summary>Every line parses, chains to the one before and hashes to its <c>hash</c>.</summary>
    None,

    /// <summary>The file has no records, or its first line has no <c>prev_hash</c>/<c>hash</c> (written without <c>immutable</c>).</summary>
    NoHashChain,

    /// <summary>A line is not a JSON object with the chain fields (a crude edit, or an inserted line).</summary>
    Invalid,

    /// <summary>The last line was cut short: it is incomplete or has lost its line terminator.</summary>
    Truncated,

    /// <summary>A line's content no longer hashes to its <c>hash</c>.</summary>
    Edited,

    /// <summary>A line does not follow the line before it, and its predecessor is nowhere in the file.</summary>
    DeletedOrInserted,

    /// <summary>A line's predecessor appears later in the file.</summary>
    Reordered,

    /// <summary>A line repeats an earlier line byte for byte.</summary>
    Duplicated,
}

/// <summary>The outcome of verifying one audit file.</summary>
/// <param name="Problem">The first problem found, or <see cref="AuditProblem.None"/>.</param>
/// <param name="Lines">The number of lines read (up to and including the broken line, when there is one).</param>
/// <param name="Line">The 1-based number of the first broken line, when there is one.</param>
/// <param name="Message">Why the line is broken, in words.</param>
/// <param name="LastHash">When intact: the hex SHA-256 of the last line's bytes, which the next file's <c>prev_file_hash</c> repeats.</param>
/// <param name="PrevFileHash">The first line's <c>prev_file_hash</c>, when it has one.</param>
public sealed record AuditVerification(AuditProblem Problem, long Lines, long? Line, string? Message, string? LastHash, string? PrevFileHash)
{
    /// <summary>Whether the file's chain is whole.</summary>
    public bool IsIntact => Problem == AuditProblem.None;
}

/// <summary>Checks the hash chain of immutable audit files, as <c>kt audit verify</c> does.</summary>
public static class AuditFileVerifier
{
    /// <summary>Verifies one file's chain and reports the first broken line.</summary>
    /// <param name="stream">The file's contents; must be readable and seekable.</param>
    /// <returns>The outcome; <see cref="AuditVerification.IsIntact"/> when every line chains and hashes correctly.</returns>
    /// <exception cref="ArgumentException">The stream cannot be read or sought.</exception>
    public static AuditVerification Verify(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead || !stream.CanSeek)
        {
            throw new ArgumentException("The audit file stream must be readable and seekable.", nameof(stream));
        }

        return AuditChain.Verify(stream);
    }
}

/// <summary>
/// The hash chain of immutable audit files, shared by the writer and <c>kt audit verify</c>.
/// <para>
/// A chained line is a JSON object whose last three members are, in this order, an optional <c>prev_file_hash</c>,
/// <c>prev_hash</c> and <c>hash</c>, written with no whitespace, so every line ends with
/// <c>,"hash":"&lt;64 lowercase hex&gt;"}</c> (75 bytes). <c>prev_hash</c> is the hex SHA-256 of the previous line's
/// exact bytes (without its <c>\n</c>), or 64 zeros on the first line of a file. <c>hash</c> is the hex SHA-256 of
/// the line's bytes with that 75-byte suffix replaced by a single <c>}</c> — the line as it would read without its
/// <c>hash</c> member. Hashing bytes rather than a re-serialization keeps the definition independent of any JSON
/// library: any change to any byte of a line breaks its own <c>hash</c>, and any deletion, insertion or move breaks
/// the next line's <c>prev_hash</c>.
/// </para>
/// </summary>
internal static class AuditChain
{
    /// <summary>The <c>prev_hash</c> of the first line of a file.</summary>
    public static readonly string Genesis = new('0', 64);

    /// <summary>Lines longer than this are not records the writer produces.</summary>
    public const int MaxLineBytes = 16 * 1024 * 1024;

    public const string PrevHashKey = "prev_hash";
    public const string PrevFileHashKey = "prev_file_hash";
    public const string HashKey = "hash";

    private static ReadOnlySpan<byte> HashPrefix => ",\"hash\":\""u8;

    /// <summary>The length of <c>,"hash":"&lt;64 hex&gt;"}</c>.</summary>
    public const int HashSuffixLength = 9 + 64 + 2;

    /// <summary>The hex SHA-256 of a line's exact bytes (without its terminator).</summary>
    public static string LineDigest(ReadOnlySpan<byte> line) => Convert.ToHexStringLower(SHA256.HashData(line));

    /// <summary>The <c>hash</c> of a line whose bytes up to (not including) the <c>,"hash":</c> member are <paramref name="withoutHash"/>.</summary>
    public static string ContentHash(ReadOnlySpan<byte> withoutHash)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(withoutHash);
        hash.AppendData("}"u8);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>Appends <c>,"hash":"…"}</c> to a buffer that holds an open JSON object ending in its <c>prev_hash</c> member.</summary>
    public static void Seal(ArrayBufferWriter<byte> line)
    {
        var hash = ContentHash(line.WrittenSpan);
        line.Write(HashPrefix);
        Span<byte> hex = stackalloc byte[64];
        Encoding.ASCII.GetBytes(hash, hex);
        line.Write(hex);
        line.Write("\"}"u8);
    }

    /// <summary>
    /// Reads the last line of a file without reading the rest: its bytes (without the terminator), and whether it
    /// was terminated. Null when the file is empty. The stream's position is left at its end.
    /// </summary>
    public static (byte[] Line, bool Terminated)? ReadLastLine(Stream stream)
    {
        var length = stream.Length;
        if (length == 0)
        {
            return null;
        }

        var buffer = new byte[4096];
        stream.Position = length - 1;
        var terminated = stream.ReadByte() == '\n';
        var end = terminated ? length - 1 : length;
        var start = 0L;
        var position = end;
        var found = false;
        while (position > 0 && !found && end - position < MaxLineBytes)
        {
            var count = (int)Math.Min(buffer.Length, position);
            position -= count;
            stream.Position = position;
            stream.ReadExactly(buffer, 0, count);
            var newline = buffer.AsSpan(0, count).LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                start = position + newline + 1;
                found = true;
            }
        }

        if (!found)
        {
            start = Math.Max(position, end - MaxLineBytes);
        }

        var line = new byte[end - start];
        stream.Position = start;
        stream.ReadExactly(line);
        stream.Position = length;
        return (line, terminated);
    }

    /// <summary>Verifies one file's chain and reports the first broken line. The stream must be seekable.</summary>
    public static AuditVerification Verify(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long number = 0;
        string? previousDigest = null;
        string? prevFileHash = null;
        foreach (var (line, terminated) in ReadLines(stream))
        {
            number++;
            if (line is null)
            {
                return Broken(AuditProblem.Invalid, number, $"line {number} is longer than {MaxLineBytes / (1024 * 1024)} MiB, which no record is");
            }

            var fields = ReadChainFields(line, out var valid);
            if (!valid)
            {
                return !terminated
                    ? Broken(AuditProblem.Truncated, number, $"line {number} is truncated: the file ends in the middle of a record")
                    : Broken(AuditProblem.Invalid, number, $"line {number} is not a JSON record: it was edited, or inserted");
            }

            if (fields.Hash is null || fields.PrevHash is null)
            {
                return number == 1 && !fields.HasChainMembers
                    ? Broken(AuditProblem.NoHashChain, number, "no hash chain: the file was not written with immutable: true")
                    : Broken(AuditProblem.Invalid, number, $"line {number} has no {(fields.Hash is null ? HashKey : PrevHashKey)}: it was edited, or inserted");
            }

            if (number == 1)
            {
                prevFileHash = fields.PrevFileHash;
            }

            if (!EndsWithHashMember(line, fields.Hash) || !string.Equals(ContentHash(line.AsSpan(0, line.Length - HashSuffixLength)), fields.Hash, StringComparison.Ordinal))
            {
                return Broken(AuditProblem.Edited, number, $"line {number} was edited: its content does not match its hash");
            }

            var expected = previousDigest ?? Genesis;
            if (!string.Equals(fields.PrevHash, expected, StringComparison.Ordinal))
            {
                return Classify(stream, number, fields.PrevHash, LineDigest(line));
            }

            if (!terminated)
            {
                return Broken(AuditProblem.Truncated, number, $"line {number} is truncated: the file ends without its line terminator");
            }

            previousDigest = LineDigest(line);
        }

        return number == 0
            ? Broken(AuditProblem.NoHashChain, 0, "no hash chain: the file is empty") with { Line = null }
            : new AuditVerification(AuditProblem.None, number, null, null, previousDigest, prevFileHash);

        AuditVerification Broken(AuditProblem problem, long line, string message) =>
            new(problem, line, line, message, null, prevFileHash);
    }

    /// <summary>Splits a stream into lines; a line longer than <see cref="MaxLineBytes"/> comes back as null.</summary>
    public static IEnumerable<(byte[]? Line, bool Terminated)> ReadLines(Stream stream)
    {
        var buffer = new byte[64 * 1024];
        using var current = new MemoryStream();
        var overlong = false;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var offset = 0;
            while (offset < read)
            {
                var newline = Array.IndexOf(buffer, (byte)'\n', offset, read - offset);
                var partLength = (newline < 0 ? read : newline) - offset;
                if (!overlong)
                {
                    if (current.Length + partLength > MaxLineBytes)
                    {
                        overlong = true;
                        current.SetLength(0);
                    }
                    else
                    {
                        current.Write(buffer, offset, partLength);
                    }
                }

                if (newline < 0)
                {
                    break;
                }

                yield return (overlong ? null : current.ToArray(), true);
                current.SetLength(0);
                overlong = false;
                offset = newline + 1;
            }
        }

        if (current.Length > 0 || overlong)
        {
            yield return (overlong ? null : current.ToArray(), false);
        }
    }

    private static bool EndsWithHashMember(byte[] line, string hash)
    {
        if (line.Length < HashSuffixLength + 1)
        {
            return false;
        }

        var suffix = line.AsSpan(line.Length - HashSuffixLength);
        Span<byte> expected = stackalloc byte[HashSuffixLength];
        HashPrefix.CopyTo(expected);
        if (Encoding.ASCII.GetBytes(hash, expected[HashPrefix.Length..]) != 64)
        {
            return false;
        }

        "\"}"u8.CopyTo(expected[(HashPrefix.Length + 64)..]);
        return suffix.SequenceEqual(expected);
    }

    private readonly record struct ChainFields(string? PrevHash, string? Hash, string? PrevFileHash, bool HasChainMembers);

    private static ChainFields ReadChainFields(byte[] line, out bool valid)
    {
        valid = false;

        // The JSON reader checks UTF-8 inside strings only when they are read; an edit there must not slip through.
        if (!Utf8.IsValid(line))
        {
            return default;
        }

        try
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return default;
            }

            valid = true;
            var root = document.RootElement;
            var hasChainMembers = root.TryGetProperty(HashKey, out _) || root.TryGetProperty(PrevHashKey, out _);
            return new ChainFields(HexMember(root, PrevHashKey), HexMember(root, HashKey), HexMember(root, PrevFileHashKey), hasChainMembers);
        }
        catch (JsonException)
        {
            return default;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return default;
        }
    }

    private static string? HexMember(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: 64 } hex && IsLowerHex(hex)
            ? hex
            : null;

    private static bool IsLowerHex(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Tells a deleted or inserted line from a moved or repeated one, with a second pass over the file.</summary>
    private static AuditVerification Classify(Stream stream, long number, string prevHash, string digest)
    {
        stream.Position = 0;
        long index = 0;
        long? predecessor = null;
        long? duplicateOf = null;
        foreach (var (line, _) in ReadLines(stream))
        {
            index++;
            if (line is null || index == number)
            {
                continue;
            }

            var lineDigest = LineDigest(line);
            if (predecessor is null && string.Equals(lineDigest, prevHash, StringComparison.Ordinal))
            {
                predecessor = index;
            }

            if (duplicateOf is null && string.Equals(lineDigest, digest, StringComparison.Ordinal))
            {
                duplicateOf = index;
            }
        }

        var (problem, message) = (duplicateOf, predecessor) switch
        {
            ({ } original, _) => (AuditProblem.Duplicated, $"line {number} repeats line {original}"),
            (_, { } p) when p > number => (AuditProblem.Reordered, $"line {number} belongs after line {p}: lines were reordered"),
            (_, { } p) => (AuditProblem.DeletedOrInserted, $"line {number} follows line {p}, not line {number - 1}: lines were inserted before it"),
            _ when number == 1 => (AuditProblem.DeletedOrInserted, "line 1 does not start a chain: lines were deleted from the start of the file, or it was inserted"),
            _ => (AuditProblem.DeletedOrInserted, $"line {number} does not follow line {number - 1}: a line was deleted before it, or one was inserted"),
        };
        return new AuditVerification(problem, number, number, message, null, null);
    }
}
