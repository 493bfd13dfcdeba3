namespace Keeptrusts.Policy.Configuration.Binding;

/// <summary>The YAML key of a property, when it is not the snake_case form of the property name.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
internal sealed class ConfigKeyAttribute(string key) : Attribute
{
    public string Key { get; } = key;
}

/// <summary>The property must be present; a missing one is reported with <see cref="Code"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ConfigRequiredAttribute(string code) : Attribute
{
    public string Code { get; } = code;
}

/// <summary>The code reported when the property's value is not one of the allowed values.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ConfigInvalidValueCodeAttribute(string code) : Attribute
{
    public string Code { get; } = code;
}

/// <summary>Another spelling accepted for an enum value, such as <c>redis</c> for <c>valkey</c>.</summary>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
internal sealed class ConfigAliasAttribute(string alias) : Attribute
{
    public string Alias { get; } = alias;
}

/// <summary>
/// The type keeps keys it does not declare (they belong to someone else, such as a policy's own settings),
/// so the binder does not report them as unknown.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class ConfigOpenAttribute : Attribute
{
}
