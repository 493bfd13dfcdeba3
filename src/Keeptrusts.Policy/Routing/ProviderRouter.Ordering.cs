using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Policy.Routing;

/// <content>The selection step: the order in which a plan's candidates are tried, per routing strategy.</content>
public sealed partial class ProviderRouter
{
    /// <summary>
    /// The selection step: writes into <paramref name="order"/> the candidate positions of <paramref name="plan"/> in the
    /// order they will be tried. Allocation-free. Each group (targets serving the requested model, then the others) is
    /// ordered by the strategy; then unhealthy targets move behind every healthy one, keeping their relative order.
    /// </summary>
    internal void Order(RoutePlan plan, Span<int> order)
    {
        var n = plan.Candidates.Length;
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        if (n > 1)
        {
            var candidates = plan.Candidates;
            switch (_strategy)
            {
                case RoutingStrategy.RoundRobin:
                    var turn = (ulong)Interlocked.Increment(ref _roundRobin);
                    Rotate(order[..plan.PrimaryCount], turn);
                    Rotate(order[plan.PrimaryCount..n], turn);
                    break;
                case RoutingStrategy.Weighted:
                    Shuffle(candidates, order[..plan.PrimaryCount]);
                    Shuffle(candidates, order[plan.PrimaryCount..n]);
                    break;
                case RoutingStrategy.LeastLatency:
                    SortByLatency(candidates, order[..plan.PrimaryCount]);
                    SortByLatency(candidates, order[plan.PrimaryCount..n]);
                    break;
            }

            // Ordered and cost need nothing here: the plan's candidates are in declared order, or cheapest first.
            DemoteUnhealthy(candidates, order[..n]);
        }
    }

    private static void Rotate(Span<int> group, ulong turn)
    {
        if (group.Length < 2)
        {
            return;
        }

        var start = (int)(turn % (ulong)group.Length);
        var first = group[0];
        for (var k = 0; k < group.Length; k++)
        {
            group[k] = first + ((start + k) % group.Length);
        }
    }

    /// <summary>Successive weighted draws without replacement; weight-0 targets keep their declared order at the end.</summary>
    private void Shuffle(RouteCandidate[] candidates, Span<int> group)
    {
        long total = 0;
        var positive = 0;
        for (var i = 0; i < group.Length; i++)
        {
            var weight = candidates[group[i]].Target.Target.Weight;
            if (weight > 0)
            {
                total += weight;
                (group[positive], group[i]) = (group[i], group[positive]);
                positive++;
            }
        }

        // Keep the weight-0 tail in declared order: the swaps above may have disturbed it.
        if (group.Length - positive > 1)
        {
            group[positive..].Sort();
        }

        for (var placed = 0; placed < positive - 1; placed++)
        {
            var draw = (long)(NextRandom() % (ulong)total);
            var chosen = placed;
            for (var i = placed; i < positive; i++)
            {
                draw -= candidates[group[i]].Target.Target.Weight;
                if (draw < 0)
                {
                    chosen = i;
                    break;
                }
            }

            total -= candidates[group[chosen]].Target.Target.Weight;
            (group[placed], group[chosen]) = (group[chosen], group[placed]);
        }
    }

    private static void SortByLatency(RouteCandidate[] candidates, Span<int> group)
    {
        // Insertion sort: stable (ties keep declared order) and fast for the few targets a plan has.
        for (var i = 1; i < group.Length; i++)
        {
            var item = group[i];
            var score = candidates[item].Target.LatencyScore;
            var j = i - 1;
            while (j >= 0 && candidates[group[j]].Target.LatencyScore > score)
            {
                group[j + 1] = group[j];
                j--;
            }

            group[j + 1] = item;
        }
    }

    private void DemoteUnhealthy(RouteCandidate[] candidates, Span<int> order)
    {
        var allHealthy = true;
        foreach (var candidate in candidates)
        {
            allHealthy &= candidate.Target.Healthy;
        }

        if (allHealthy)
        {
            return;
        }

        var now = _time.GetUtcNow().UtcTicks;
        Span<int> behind = order.Length <= StackCandidates ? stackalloc int[order.Length] : new int[order.Length];
        int kept = 0, demoted = 0;
        for (var i = 0; i < order.Length; i++)
        {
            if (candidates[order[i]].Target.IsPreferred(now))
            {
                order[kept++] = order[i];
            }
            else
            {
                behind[demoted++] = order[i];
            }
        }

        behind[..demoted].CopyTo(order[kept..]);
    }

    private ulong NextRandom()
    {
        // SplitMix64 over an atomically advanced state: thread-safe, allocation-free, reproducible with a seed.
        var z = unchecked((ulong)Interlocked.Add(ref _random, unchecked((long)0x9E3779B97F4A7C15)));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EB);
        return z ^ (z >> 31);
    }

    private double NextDouble() => (NextRandom() >> 11) * (1.0 / (1UL << 53));
}
