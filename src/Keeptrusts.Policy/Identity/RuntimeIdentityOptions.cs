namespace Keeptrusts.Policy.Identity;

/// <summary>Options of a <see cref="RuntimeIdentityResolver"/>.</summary>
public sealed class RuntimeIdentityOptions
{
    /// <summary>The clock, for token lifetimes and JWKS caching. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Finds gateway keys. Default: none, so every gateway key is unknown.</summary>
    public IGatewayKeyResolver? GatewayKeyResolver { get; set; }

    /// <summary>Creates the HTTP client the JWKS is fetched with. Default: one shared <see cref="HttpClient"/>.</summary>
    public Func<HttpClient>? HttpClientFactory { get; set; }

    /// <summary>Timeout of one JWKS fetch. Default 5 seconds.</summary>
    public TimeSpan JwksFetchTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long fetched signing keys are used before the JWKS is fetched again. Default 1 hour.</summary>
    public TimeSpan JwksMaxAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The shortest time between two JWKS fetches, including those for an unknown key id. Default 10 seconds.</summary>
    public TimeSpan JwksMinRefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Tolerated clock difference for token lifetimes. Default 1 minute.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);
}
