namespace Keeptrusts.Providers.Credentials;

/// <summary>Where an HTTP target's credential comes from: nowhere, a value read at creation, or a store reference resolved per attempt.</summary>
internal sealed class UpstreamCredential
{
    public static readonly UpstreamCredential None = new(null, null, null, string.Empty);

    private readonly string? _key;
    private readonly ISecretResolver? _resolver;
    private readonly string? _storeName;
    private readonly string _targetId;

    private UpstreamCredential(string? key, ISecretResolver? resolver, string? storeName, string targetId)
    {
        _key = key;
        _resolver = resolver;
        _storeName = storeName;
        _targetId = targetId;
    }

    public static UpstreamCredential FromValue(string key) => new(key, null, null, string.Empty);

    public static UpstreamCredential FromStore(ISecretResolver resolver, string storeName, string targetId) => new(null, resolver, storeName, targetId);

    /// <summary>Whether a value can be sent in an HTTP header: no control characters (so no header injection).</summary>
    public static bool IsHeaderSafe(string value) => !value.AsSpan().ContainsAnyInRange('\0', '\x1f') && !value.Contains('\x7f', StringComparison.Ordinal);

    /// <summary>The credential for this attempt; null when the target sends none.</summary>
    /// <exception cref="CredentialUnavailableException">A store reference could not be resolved.</exception>
    public async ValueTask<string?> GetAsync(CancellationToken cancellationToken)
    {
        if (_resolver is null)
        {
            return _key;
        }

        string? value;
        try
        {
            value = await _resolver.ResolveAsync(_storeName!, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // The resolver's message is not repeated: it could carry what it was resolving.
            throw new CredentialUnavailableException(_targetId, _storeName!, $"the secret resolver failed ({ex.GetType().Name})", ex);
        }

        if (string.IsNullOrEmpty(value))
        {
            throw new CredentialUnavailableException(_targetId, _storeName!, "the secret resolver has no value for it", null);
        }

        if (!IsHeaderSafe(value))
        {
            throw new CredentialUnavailableException(_targetId, _storeName!, "the resolved value contains control characters and cannot be sent in a header", null);
        }

        return value;
    }
}

/// <summary>A <c>secret_key_ref.store</c> reference could not be resolved for an attempt.</summary>
internal sealed class CredentialUnavailableException(string targetId, string storeName, string reason, Exception? inner)
    : Exception($"the credential of target '{targetId}' (secret_key_ref.store '{storeName}') is unavailable: {reason}", inner)
{
    public string TargetId { get; } = targetId;

    public string StoreName { get; } = storeName;
}
