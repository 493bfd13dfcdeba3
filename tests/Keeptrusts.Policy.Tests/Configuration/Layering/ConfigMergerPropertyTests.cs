using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration.Layering;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Tests.TestSupport;

namespace Keeptrusts.Policy.Tests.Configuration.Layering;

public class ConfigMergerPropertyTests
{
    private static readonly ConfigMapping Empty = new(new("empty.yaml", 1, 1), []);

    [Fact]
    public void Merging_with_an_empty_document_is_the_identity()
    {
        Properties.ForAll(LayerGenerators.Layer("a.yaml"), doc =>
            ConfigMerger.Merge(doc, Empty)!.ContentEquals(doc) && ConfigMerger.Merge(Empty, doc)!.ContentEquals(doc));
    }

    [Fact]
    public void Merging_is_associative()
    {
        var gen = LayerGenerators.Layers(3, 3);
        Properties.ForAll(gen, layers =>
        {
            var left = ConfigMerger.Merge(ConfigMerger.Merge(layers[0], layers[1]), layers[2])!;
            var right = ConfigMerger.Merge(layers[0], ConfigMerger.Merge(layers[1], layers[2]))!;
            Assert.True(left.ContentEquals(right), $"left:  {Dump(left)}\nright: {Dump(right)}");
        }, maxTest: 500);
    }

    [Fact]
    public void The_last_layers_scalars_always_win()
    {
        Properties.ForAll(LayerGenerators.Layers(2, 4), layers =>
        {
            var merged = ConfigMerger.MergeAll(layers);
            foreach (var leaf in LogicalPaths.Leaves(layers[^1]).Where(l => !l.Scalar.IsNull && l.Owner == l.Path))
            {
                var found = LogicalPaths.Find(merged, leaf.Path) as ConfigScalar;
                Assert.True(found is not null && found.ContentEquals(leaf.Scalar), $"{leaf.Path}: expected {leaf.Scalar}, found {found}");
            }
        }, maxTest: 300);
    }

    [Fact]
    public void Every_merged_value_points_at_the_layer_that_set_it()
    {
        Properties.ForAll(LayerGenerators.Layers(1, 4), layers =>
        {
            var merged = ConfigMerger.MergeAll(layers)!;
            foreach (var leaf in LogicalPaths.Leaves(merged))
            {
                var setter = layers.Select((layer, i) => (layer, i))
                    .LastOrDefault(p => LogicalPaths.Find(p.layer, leaf.Owner) is { } n && n is not ConfigScalar { IsNull: true });
                // A null has no opinion, so a value only ever written as null keeps the first layer's position.
                var expected = setter.layer is null
                    ? layers.Select((layer, i) => (layer, i)).First(p => LogicalPaths.Find(p.layer, leaf.Owner) is not null).i
                    : setter.i;
                Assert.Equal("layer" + expected + ".yaml", leaf.Scalar.Location.File);
            }
        }, maxTest: 300);
    }

    [Fact]
    public void Merging_is_deterministic()
    {
        Properties.ForAll(LayerGenerators.Layers(2, 3), layers =>
            Dump(ConfigMerger.MergeAll(layers)!) == Dump(ConfigMerger.MergeAll(layers)!));
    }

    private static string Dump(ConfigNode node) => node switch
    {
        ConfigMapping m => "{" + string.Join(",", m.Entries.Select(e => e.Key.Value + ":" + Dump(e.Value))) + "}",
        ConfigSequence s => "[" + string.Join(",", s.Items.Select(Dump)) + "]",
        ConfigScalar s => s.Value ?? "~",
        _ => "?",
    };
}
