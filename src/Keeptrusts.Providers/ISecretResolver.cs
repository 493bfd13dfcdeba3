namespace Keeptrusts.Providers;

/// <summary>
/// Resolves <c>secret_key_ref.store</c> references (managed config variables) to credentials. The gateway implements it
/// over the control plane's config-variable endpoint; set it on <see cref="ProviderClientOptions.SecretResolver"/> or
/// register it in the service container.
/// </summary>
/// <remarks>
/// It is called once per attempt against a target that uses <c>store</c>, so implementations should cache and refresh
/// on their own schedule. It must be thread-safe. The value it returns is sent upstream and never logged or reported.
/// </remarks>
public interface ISecretResolver
{
    /// <summary>Returns the value of the config variable <paramref name="name"/>, or null when there is none.</summary>
    ValueTask<string?> ResolveAsync(string name, CancellationToken cancellationToken);
}
