using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Exchange;

namespace Keeptrusts.Policy.Evaluation;

/// <summary>What a policy sees when it evaluates.</summary>
internal sealed class PolicyContext
{
    private readonly string[] _texts;

    public PolicyContext(PolicyPhase phase, ChatView view, string[] currentTexts, RequestContext request, ExchangeState exchange, PolicyConfig config, TimeProvider time)
    {
        Phase = phase;
        View = view;
        _texts = currentTexts;
        Request = request;
        Exchange = exchange;
        Config = config;
        Time = time;
    }

    public PolicyPhase Phase { get; }

    /// <summary>The exchange as it arrived: roles, kinds, model.</summary>
    public ChatView View { get; }

    /// <summary>The texts as earlier policies left them (after their redactions), indexed like <see cref="ChatView.Texts"/>.</summary>
    public IReadOnlyList<string> Texts => _texts;

    public RequestContext Request { get; }

    /// <summary>State shared by the input and output phases of one exchange (e.g. spend reservations).</summary>
    public ExchangeState Exchange { get; }

    public PolicyConfig Config { get; }

    public TimeProvider Time { get; }

    /// <summary>The model of the exchange: the request's, or the response's.</summary>
    public string? Model => View.Model ?? Exchange.RequestModel;
}

/// <summary>
/// Per-exchange state carried from the input phase to the output phase. Policies keep their own entries keyed by
/// policy id; the engine disposes them when the exchange ends (for example, to release an unsettled reservation).
/// </summary>
internal sealed class ExchangeState : IAsyncDisposable
{
    private readonly Lock _gate = new();

    // Created on first use: most exchanges have no per-exchange state at all.
    private Dictionary<string, object>? _items;

    public string? RequestModel { get; set; }

    /// <summary>The tools the request offered the model (after tool-governance), for checking the answer's tool calls.</summary>
    public Tools.OfferedTools? OfferedTools { get; set; }

    /// <summary>Token usage reported by the provider, when known.</summary>
    public TokenUsage? Usage { get; set; }

    public T GetOrAdd<T>(string key, Func<T> create)
        where T : class
    {
        lock (_gate)
        {
            _items ??= new Dictionary<string, object>(StringComparer.Ordinal);
            if (_items.TryGetValue(key, out var existing))
            {
                return (T)existing;
            }

            var created = create();
            _items[key] = created;
            return created;
        }
    }

    public bool TryGet<T>(string key, out T? value)
        where T : class
    {
        lock (_gate)
        {
            object? existing = null;
            var found = _items?.TryGetValue(key, out existing) == true;
            value = existing as T;
            return found && value is not null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        object[] items;
        lock (_gate)
        {
            if (_items is null || _items.Count == 0)
            {
                return;
            }

            items = [.. _items.Values];
            _items.Clear();
        }

        List<Exception>? failures = null;
        foreach (var item in items)
        {
            // Every item is released even when one fails, so one broken store cannot strand another's reservation.
            try
            {
                if (item is IAsyncDisposable asyncDisposable)
                {
                    await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                }
                else if (item is IDisposable disposable)
                {
                    disposable.Dispose();
                }
            }
#pragma warning disable CA1031 // Collected and rethrown together below.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                (failures ??= []).Add(ex);
            }
        }

        if (failures is not null)
        {
            throw new AggregateException("Some exchange state failed to release.", failures);
        }
    }
}

/// <summary>Token counts of one completion.</summary>
/// <param name="PromptTokens">Input tokens.</param>
/// <param name="CompletionTokens">Output tokens.</param>
/// <param name="CachedPromptTokens">Input tokens served from the provider's prompt cache.</param>
public readonly record struct TokenUsage(long PromptTokens, long CompletionTokens, long CachedPromptTokens = 0);

/// <summary>A policy of the chain.</summary>
internal interface IChainPolicy
{
    string Id { get; }

    /// <summary>Whether the policy has anything to do in a phase; the chain skips it otherwise.</summary>
    bool AppliesTo(PolicyPhase phase);

    ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken);
}
