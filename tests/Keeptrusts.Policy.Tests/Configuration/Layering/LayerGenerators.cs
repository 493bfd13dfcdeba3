using FsCheck;
using FsCheck.Fluent;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Tests.Configuration.Layering;

/// <summary>
/// Generates configuration layers whose keys have a fixed kind by name — s*: scalar, m*: mapping, l*: plain list,
/// k*: keyed list (items carry an id) — so that independent layers agree on the kind of each path, as valid
/// documents do. Ids vary in case across layers to exercise case-insensitive matching.
/// </summary>
internal static class LayerGenerators
{
    private static readonly string[] ScalarKeys = ["s1", "s2", "s3"];
    private static readonly string[] MappingKeys = ["m1", "m2"];
    private static readonly string[] Ids = ["a", "b", "c", "d"];

    public static Gen<ConfigMapping> Layer(string file) => Mapping(file, depth: 0);

    public static Gen<ConfigMapping[]> Layers(int min, int max) =>
        Gen.Choose(min, max).SelectMany(n => Sequence(Enumerable.Range(0, n).Select(i => Layer("layer" + i + ".yaml")).ToArray()));

    private static Gen<ConfigMapping[]> Sequence(Gen<ConfigMapping>[] gens)
    {
        Gen<List<ConfigMapping>> acc = Gen.Constant(new List<ConfigMapping>());
        foreach (var g in gens)
        {
            var current = acc;
            acc = current.SelectMany(list => g.Select(item => new List<ConfigMapping>(list) { item }));
        }

        return acc.Select(l => l.ToArray());
    }

    private static SourceLocation At(string file) => new(file, 1, 1);

    private static Gen<ConfigNode> Scalar(string file) => Gen.Frequency(
        (4, Gen.Choose(-5, 5).Select(i => (ConfigNode)new ConfigScalar(At(file), i.ToString(System.Globalization.CultureInfo.InvariantCulture), ScalarKind.Integer))),
        (4, Gen.Elements("x", "y", "z").Select(s => (ConfigNode)new ConfigScalar(At(file), s, ScalarKind.String))),
        (2, Gen.Elements("true", "false").Select(s => (ConfigNode)new ConfigScalar(At(file), s, ScalarKind.Boolean))),
        (1, Gen.Constant((ConfigNode)new ConfigScalar(At(file), null, ScalarKind.Null))));

    private static Gen<ConfigNode> NonNullScalar(string file) => Scalar(file).Where(n => n is ConfigScalar { IsNull: false });

    private static Gen<ConfigMapping> Mapping(string file, int depth)
    {
        var entries = new List<Gen<ConfigEntry?>>();
        foreach (var key in ScalarKeys)
        {
            entries.Add(Optional(file, key, Scalar(file)));
        }

        if (depth < 3)
        {
            foreach (var key in MappingKeys)
            {
                entries.Add(Optional(file, key, Gen.Frequency((6, Mapping(file, depth + 1).Select(m => (ConfigNode)m)), (1, Gen.Constant((ConfigNode)new ConfigScalar(At(file), null, ScalarKind.Null))))));
            }

            entries.Add(Optional(file, "l1", Gen.ListOf(NonNullScalar(file)).Select(items => (ConfigNode)new ConfigSequence(At(file), items.Take(3).ToList()))));
            entries.Add(Optional(file, "k1", KeyedList(file, depth + 1)));
        }

        return Sequence(entries).Select(list => new ConfigMapping(At(file), list.Where(e => e.HasValue).Select(e => e!.Value).ToList()));
    }

    private static Gen<ConfigNode> KeyedList(string file, int depth) =>
        Gen.SubListOf(Ids).SelectMany(ids => Sequence(ids.Select(id => KeyedItem(file, id, depth)).ToList()))
            .Select(items => (ConfigNode)new ConfigSequence(At(file), items.Cast<ConfigNode>().ToList()));

    private static Gen<ConfigMapping> KeyedItem(string file, string id, int depth) =>
        Gen.Elements(id, id.ToUpperInvariant()).SelectMany(spelled =>
            Mapping(file, depth).Select(body =>
            {
                var entries = new List<ConfigEntry> { new(new ConfigScalar(At(file), "id", ScalarKind.String), new ConfigScalar(At(file), spelled, ScalarKind.String)) };
                entries.AddRange(body.Entries);
                return new ConfigMapping(At(file), entries);
            }));

    private static Gen<ConfigEntry?> Optional(string file, string key, Gen<ConfigNode> value) =>
        Gen.Frequency(
            (1, Gen.Constant<ConfigEntry?>(null)),
            (2, value.Select(v => (ConfigEntry?)new ConfigEntry(new ConfigScalar(At(file), key, ScalarKind.String), v))));

    private static Gen<List<T>> Sequence<T>(IReadOnlyList<Gen<T>> gens)
    {
        Gen<List<T>> acc = Gen.Constant(new List<T>());
        foreach (var g in gens)
        {
            var current = acc;
            acc = current.SelectMany(list => g.Select(item => new List<T>(list) { item }));
        }

        return acc;
    }
}
