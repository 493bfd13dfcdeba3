using System.Text.Json;
using Keeptrusts.Policy.RateLimiting;
using Keeptrusts.Policy.SharedState;
using StackExchange.Redis;

namespace Keeptrusts.Valkey;

/// <summary>
/// Memory as one list per scope (<c>mem:{scope}</c>), newest first: an append is one transaction of LPUSH, LTRIM to
/// the scope's size and PEXPIRE; a recall is one LRANGE. Failures are raised, not hidden: the gateway's recall counts
/// them and fails fast after three in a row.
/// </summary>
internal sealed class ValkeyMemoryStore(ValkeyBackend backend) : IMemoryStore
{
    internal const string KeyPrefix = "mem:";

    public async ValueTask AppendAsync(string scope, IReadOnlyList<MemoryEntry> entries, int maxEntries, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        Usable();
        var key = Key(scope);
        var transaction = backend.Database.CreateTransaction();
        var pushed = transaction.ListLeftPushAsync(key, entries.Select(static e => (RedisValue)JsonSerializer.Serialize(new Stored(e.Role, e.Text, e.At.ToUnixTimeMilliseconds()))).ToArray());
        var trimmed = transaction.ListTrimAsync(key, 0, maxEntries - 1);
        var expired = transaction.KeyExpireAsync(key, ttl);
        await Run(transaction.ExecuteAsync().WaitAsync(cancellationToken)).ConfigureAwait(false);
        await Task.WhenAll(pushed, trimmed, expired).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<MemoryEntry>> RecallAsync(string scope, int maxEntries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        Usable();
        var values = await Run(backend.Database.ListRangeAsync(Key(scope), 0, maxEntries - 1).WaitAsync(cancellationToken)).ConfigureAwait(false);
        var entries = new List<MemoryEntry>(values.Length);
        foreach (var value in values)
        {
            // An entry this version cannot read is skipped, never fatal.
            try
            {
                if (JsonSerializer.Deserialize<Stored>((string)value!) is { Role: not null, Text: not null } stored)
                {
                    entries.Add(new MemoryEntry(stored.Role, stored.Text, DateTimeOffset.FromUnixTimeMilliseconds(stored.At)));
                }
            }
            catch (JsonException)
            {
            }
        }

        return entries;
    }

    private static string Key(string scope) => KeyPrefix + RequestRateLimiter.Component(scope);

    private void Usable()
    {
        if (!backend.Health.IsUsable())
        {
            throw new InvalidOperationException("Valkey is unreachable");
        }
    }

    private async Task<T> Run<T>(Task<T> command)
    {
        try
        {
            var result = await command.ConfigureAwait(false);
            backend.Health.Succeeded();
            return result;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            backend.Health.Failed(ex);
            throw new InvalidOperationException("Valkey did not answer the memory command", ex);
        }
    }

    private sealed record Stored(string Role, string Text, long At);
}
