using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Tests.Evaluation;

public class ExchangeStateTests
{
    [Fact]
    public async Task Every_item_is_released_even_when_one_fails()
    {
        var state = new ExchangeState();
        var first = state.GetOrAdd("a", () => new Probe(fail: false));
        state.GetOrAdd("b", () => new Probe(fail: true));
        var third = state.GetOrAdd("c", () => new Probe(fail: false));

        var error = await Assert.ThrowsAsync<AggregateException>(() => state.DisposeAsync().AsTask());

        Assert.True(first.Disposed);
        Assert.True(third.Disposed);
        Assert.IsType<InvalidOperationException>(Assert.Single(error.InnerExceptions));
    }

    [Fact]
    public async Task An_exchange_without_state_disposes_cleanly()
    {
        await new ExchangeState().DisposeAsync();
    }

    private sealed class Probe(bool fail) : IAsyncDisposable
    {
        public bool Disposed { get; private set; }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return fail ? ValueTask.FromException(new InvalidOperationException("store unavailable")) : ValueTask.CompletedTask;
        }
    }
}
