using System.Collections.Concurrent;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.SharedState;

namespace Keeptrusts.AspNetCore.Memory;

/// <summary>
/// Recall and remembering for one configuration revision: every scope is recalled in parallel, results are cached
/// for <see cref="MemoryConfig.CacheSeconds"/>, and after <see cref="FailureThreshold"/> consecutive backend failures
/// recall fails fast (nothing recalled, nothing asked) for <see cref="CoolDown"/>.
/// </summary>
internal sealed class MemoryRecall(IMemoryStore store, MemoryConfig config, TimeProvider time)
{
    public const int FailureThreshold = 3;

    public static readonly TimeSpan CoolDown = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (DateTimeOffset Until, IReadOnlyList<MemoryEntry> Entries)> _cache = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _failures;
    private DateTimeOffset _openUntil;

    public MemoryConfig Config => config;

    /// <summary>Whether recall currently fails fast.</summary>
    public bool IsOpen
    {
        get
        {
            lock (_gate)
            {
                return time.GetUtcNow() < _openUntil;
            }
        }
    }

    /// <summary>The scope keys of a request: its conversation (or the caller's day bucket) and the caller.</summary>
    public IReadOnlyList<string> ScopesOf(string? conversationId, string? caller)
    {
        var scopes = new List<string>(config.Scopes.Count);
        foreach (var scope in config.Scopes.Distinct())
        {
            if (scope == MemoryScope.Conversation)
            {
                scopes.Add(conversationId is { Length: > 0 }
                    ? "conversation:" + conversationId
                    : string.Concat("day:", time.GetUtcNow().ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), ":", caller ?? "~anonymous"));
            }
            else if (caller is { Length: > 0 })
            {
                scopes.Add("user:" + caller);
            }
        }

        return scopes;
    }

    /// <summary>The recent entries of every scope, merged oldest first; <c>Failed</c> when the backend could not answer.</summary>
    public async ValueTask<(IReadOnlyList<MemoryEntry> Entries, bool Failed)> RecallAsync(IReadOnlyList<string> scopes, CancellationToken cancellationToken)
    {
        if (scopes.Count == 0)
        {
            return ([], false);
        }

        if (IsOpen)
        {
            return ([], true);
        }

        var now = time.GetUtcNow();
        var tasks = new Task<IReadOnlyList<MemoryEntry>>[scopes.Count];
        for (var i = 0; i < scopes.Count; i++)
        {
            tasks[i] = _cache.TryGetValue(scopes[i], out var cached) && cached.Until > now
                ? Task.FromResult(cached.Entries)
                : store.RecallAsync(scopes[i], config.MaxEntries, cancellationToken).AsTask();
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            Failed();
            return ([], true);
        }

        Succeeded();
        if (config.CacheSeconds > 0)
        {
            for (var i = 0; i < scopes.Count; i++)
            {
                _cache[scopes[i]] = (now.AddSeconds(config.CacheSeconds), tasks[i].Result);
            }

            if (_cache.Count > 10_000)
            {
                foreach (var (key, value) in _cache)
                {
                    if (value.Until <= now)
                    {
                        _cache.TryRemove(new KeyValuePair<string, (DateTimeOffset, IReadOnlyList<MemoryEntry>)>(key, value));
                    }
                }
            }
        }

        return (Budget(tasks.SelectMany(static t => t.Result)), false);
    }

    /// <summary>Remembers an exchange in every scope; a failure counts towards the fail-fast threshold and is not raised.</summary>
    public async ValueTask RememberAsync(IReadOnlyList<string> scopes, IReadOnlyList<MemoryEntry> entries, CancellationToken cancellationToken)
    {
        if (scopes.Count == 0 || entries.Count == 0 || IsOpen)
        {
            return;
        }

        try
        {
            await Task.WhenAll(scopes.Select(s => store.AppendAsync(s, entries, config.MaxEntries, TimeSpan.FromSeconds(config.TtlSeconds), cancellationToken).AsTask())).ConfigureAwait(false);
            Succeeded();
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            Failed();
        }

        // This instance's next recall of these scopes sees what it just wrote.
        foreach (var scope in scopes)
        {
            _cache.TryRemove(scope, out _);
        }
    }

    /// <summary>Newest first until the budget is spent (four characters a token), then oldest first; duplicates once.</summary>
    internal IReadOnlyList<MemoryEntry> Budget(IEnumerable<MemoryEntry> entries)
    {
        var chosen = new List<MemoryEntry>();
        var seen = new HashSet<(string, string)>();
        var left = config.TokenBudget;
        foreach (var entry in entries.OrderByDescending(static e => e.At))
        {
            var tokens = Tokens(entry);
            if (!seen.Add((entry.Role, entry.Text)))
            {
                continue;
            }

            if (tokens > left)
            {
                break;
            }

            left -= tokens;
            chosen.Add(entry);
        }

        chosen.Reverse();
        return chosen;
    }

    internal static int Tokens(MemoryEntry entry) => ((entry.Role.Length + entry.Text.Length + 3) / 4) + 4;

    private void Succeeded()
    {
        lock (_gate)
        {
            _failures = 0;
        }
    }

    private void Failed()
    {
        lock (_gate)
        {
            if (++_failures >= FailureThreshold)
            {
                _failures = 0;
                _openUntil = time.GetUtcNow() + CoolDown;
            }
        }
    }
}
