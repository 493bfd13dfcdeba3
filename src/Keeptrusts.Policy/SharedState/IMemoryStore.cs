using System.Collections.Concurrent;

namespace Keeptrusts.Policy.SharedState;

/// <summary>
/// Conversation memory: the recent (already redacted) texts of each scope, newest first. Implementations are
/// thread-safe; a backend that cannot be reached throws, so the caller's recall can count failures and fail fast.
/// </summary>
public interface IMemoryStore
{
    /// <summary>Adds entries to a scope, keeping only its newest <paramref name="maxEntries"/>.</summary>
    /// <param name="scope">The scope key, such as <c>conversation:abc</c> or <c>user:alice</c>.</param>
    /// <param name="entries">The entries, oldest first.</param>
    /// <param name="maxEntries">How many entries the scope keeps.</param>
    /// <param name="ttl">How long the scope lives after its last write.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the entries are stored.</returns>
    ValueTask AppendAsync(string scope, IReadOnlyList<MemoryEntry> entries, int maxEntries, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>The newest entries of a scope, newest first.</summary>
    /// <param name="scope">The scope key.</param>
    /// <param name="maxEntries">The most entries to return.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The entries, newest first; empty for an unknown scope.</returns>
    ValueTask<IReadOnlyList<MemoryEntry>> RecallAsync(string scope, int maxEntries, CancellationToken cancellationToken);
}

/// <summary>One remembered text.</summary>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Text">The text as it was sent or answered, after redaction.</param>
/// <param name="At">When it was remembered.</param>
public sealed record MemoryEntry(string Role, string Text, DateTimeOffset At);

/// <summary>Creates the built-in memory stores.</summary>
public static class MemoryStores
{
    /// <summary>A store in this process's memory; scopes expire after their time to live.</summary>
    /// <param name="time">The clock of the expiry.</param>
    /// <returns>A new, empty store.</returns>
    public static IMemoryStore CreateInProcess(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return new InProcessMemoryStore(time);
    }
}

internal sealed class InProcessMemoryStore(TimeProvider time) : IMemoryStore
{
    private const int SweepThreshold = 10_000;

    private readonly ConcurrentDictionary<string, Scope> _scopes = new(StringComparer.Ordinal);

    public ValueTask AppendAsync(string scope, IReadOnlyList<MemoryEntry> entries, int maxEntries, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        var now = time.GetUtcNow();
        if (_scopes.Count > SweepThreshold)
        {
            foreach (var (key, value) in _scopes)
            {
                if (value.ExpiresAt <= now)
                {
                    _scopes.TryRemove(new KeyValuePair<string, Scope>(key, value));
                }
            }
        }

        var held = _scopes.GetOrAdd(scope, static _ => new Scope());
        lock (held)
        {
            if (held.ExpiresAt <= now)
            {
                held.Entries.Clear();
            }

            foreach (var entry in entries)
            {
                held.Entries.Insert(0, entry);
            }

            if (held.Entries.Count > maxEntries)
            {
                held.Entries.RemoveRange(maxEntries, held.Entries.Count - maxEntries);
            }

            held.ExpiresAt = now + ttl;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<MemoryEntry>> RecallAsync(string scope, int maxEntries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        if (!_scopes.TryGetValue(scope, out var held))
        {
            return ValueTask.FromResult<IReadOnlyList<MemoryEntry>>([]);
        }

        lock (held)
        {
            return ValueTask.FromResult<IReadOnlyList<MemoryEntry>>(held.ExpiresAt <= time.GetUtcNow() ? [] : held.Entries.Take(maxEntries).ToArray());
        }
    }

    private sealed class Scope
    {
        public List<MemoryEntry> Entries { get; } = [];

        public DateTimeOffset ExpiresAt { get; set; }
    }
}
