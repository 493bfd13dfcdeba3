using Keeptrusts.Conformance.Surfaces;

namespace Keeptrusts.Conformance;

/// <summary>
/// Runs every row of <see cref="ConformanceCases"/> through every surface, plainly and streamed in every chunk
/// pattern, and fails on any divergence from the row, naming each surface and variant that diverged.
/// </summary>
public class ConformanceTests(SurfaceFixture surfaces) : IClassFixture<SurfaceFixture>
{
    public static TheoryData<string> Cases() => new(ConformanceCases.All.Select(c => c.Name));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Every_surface_decides_alike(string name)
    {
        var testCase = ConformanceCases.All.Single(c => c.Name == name);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var divergences = new List<string>();
        foreach (var surface in surfaces.All)
        {
            foreach (var chunks in new int[]?[] { null }.Concat(ConformanceCases.ChunkPatterns))
            {
                var variant = chunks is null ? "plain" : "stream [" + string.Join(",", chunks) + "]";
                try
                {
                    var outcome = await surface.RunAsync(testCase, chunks, timeout.Token);
                    divergences.AddRange(Compare(testCase, outcome, chunks is not null).Select(d => $"{surface.Name}, {variant}: {d}"));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    divergences.Add($"{surface.Name}, {variant}: threw {ex.GetType().Name}: {ex.Message}");
                }
            }
        }

        Assert.True(divergences.Count == 0, $"'{name}' diverged:\n" + string.Join("\n", divergences));
    }

    [Fact]
    public void Every_surface_takes_part() =>
        Assert.Equal(surfaces.Expected, surfaces.All.Select(s => s.Name));

    private static IEnumerable<string> Compare(ConformanceCase expected, Outcome actual, bool streamed)
    {
        var blocked = actual.Blocked != BlockedAt.Nowhere;
        if (blocked != (expected.Blocked != BlockedAt.Nowhere))
        {
            yield return blocked ? $"blocked by {actual.BlockedBy} at {actual.Blocked}, expected not blocked" : $"not blocked (answer '{actual.Answer}'), expected a block by {expected.BlockedBy} at {expected.Blocked}";
            yield break;
        }

        if (blocked)
        {
            if (actual.PhaseKnown && actual.Blocked != expected.Blocked)
            {
                yield return $"blocked at {actual.Blocked}, expected at {expected.Blocked}";
            }

            if (actual.BlockedBy != expected.BlockedBy)
            {
                yield return $"blocked by '{actual.BlockedBy}', expected '{expected.BlockedBy}'";
            }

            // A block inside a stream has no status any more; before the answer starts it is the HTTP status.
            var hasStatus = !streamed || expected.Blocked == BlockedAt.Input;
            if (hasStatus && actual.Status is { } status && status != expected.Status)
            {
                yield return $"status {status}, expected {expected.Status}";
            }

            if (expected.Blocked == BlockedAt.Output && streamed && actual.Answer is { Length: > 0 } partial && !expected.Messages[^1].Text.StartsWith(partial, StringComparison.Ordinal))
            {
                yield return $"before the block the caller read '{partial}', which is not a prefix of the checked answer";
            }
        }
        else if (actual.Answer != expected.Answer)
        {
            yield return $"answer '{actual.Answer}', expected '{expected.Answer}'";
        }

        if (actual.Records is { } records)
        {
            var findings = records.SelectMany(r => r.Policies).SelectMany(p => p.Findings).Select(f => f.Type).Distinct().Order(StringComparer.Ordinal).ToArray();
            var wanted = expected.Findings.Order(StringComparer.Ordinal).ToArray();
            if (!findings.SequenceEqual(wanted))
            {
                yield return $"findings [{string.Join(", ", findings)}], expected [{string.Join(", ", wanted)}]";
            }
        }
    }
}

/// <summary>The surfaces, created once for the whole table.</summary>
public sealed class SurfaceFixture : IAsyncLifetime
{
    private readonly List<ISurface> _all = [];
    private EchoUpstream? _upstream;

    public IReadOnlyList<ISurface> All => _all;

    /// <summary>The surfaces the table must run through.</summary>
    public IReadOnlyList<string> Expected { get; } = ["core", "httpclient handler", "ichatclient decorator", "aspnetcore gateway", "kt gateway run"];

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        _upstream = await EchoUpstream.StartAsync(timeout.Token);
        _all.Add(new CoreSurface());
        _all.Add(new HandlerSurface());
        _all.Add(new ChatClientSurface());
        _all.Add(new AspNetCoreSurface(_upstream));
        _all.Add(new KtGatewaySurface(_upstream));
    }

    public async Task DisposeAsync()
    {
        foreach (var surface in _all)
        {
            await surface.DisposeAsync();
        }

        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }
    }
}
