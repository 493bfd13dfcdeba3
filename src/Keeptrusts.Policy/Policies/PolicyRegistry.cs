namespace Keeptrusts.Policy.Policies;

/// <summary>
/// The built-in policy definitions, found once in this assembly: adding a policy is adding its definition class,
/// with no list to keep in step.
/// </summary>
internal static class PolicyRegistry
{
    private static readonly Lazy<IReadOnlyDictionary<string, IPolicyDefinition>> Definitions = new(Discover);

    public static IReadOnlyDictionary<string, IPolicyDefinition> All => Definitions.Value;

    public static bool TryGet(string id, out IPolicyDefinition definition) => All.TryGetValue(id, out definition!);

    private static IReadOnlyDictionary<string, IPolicyDefinition> Discover()
    {
        var definitions = new Dictionary<string, IPolicyDefinition>(StringComparer.OrdinalIgnoreCase);
        foreach (var type in typeof(PolicyRegistry).Assembly.GetTypes())
        {
            if (type is { IsAbstract: false, IsClass: true } && typeof(IPolicyDefinition).IsAssignableFrom(type) && type.GetConstructor(Type.EmptyTypes) is not null)
            {
                var definition = (IPolicyDefinition)Activator.CreateInstance(type)!;
                definitions.Add(definition.Id, definition);
            }
        }

        return definitions;
    }
}
