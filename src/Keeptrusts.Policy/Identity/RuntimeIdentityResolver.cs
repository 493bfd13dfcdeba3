using System.Security.Claims;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Evaluation;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Keeptrusts.Policy.Identity;

/// <summary>
/// Establishes who a request is from, following <c>runtime_identity</c>:
/// <list type="bullet">
/// <item>A bearer gateway key (<c>kt_gk_…</c>) is resolved by its SHA-256 in every mode; an unknown key is refused (401).</item>
/// <item>In <c>signed_assertion</c> mode a bearer JWT is verified against the JWKS (signature, issuer, audience,
/// lifetime); an invalid one is refused (401). Its <c>sub</c> becomes the user id, <c>role</c> (or the first of
/// <c>roles</c>) the role, <c>team</c> the team.</item>
/// <item>Otherwise <c>X-User-ID</c> / <c>X-User-Role</c> are taken as unverified hints (<c>header_soft</c>), unless
/// <c>require_verified_identity</c> is on, which refuses the request (401).</item>
/// </list>
/// Any other bearer value (such as an upstream API key an SDK always sends) is ignored. Thread-safe; one per
/// configuration.
/// </summary>
public sealed class RuntimeIdentityResolver : IDisposable
{
    /// <summary>The longest hint (<c>X-User-ID</c>, <c>X-User-Role</c>) accepted.</summary>
    public const int MaxHintLength = 256;

    /// <summary>The longest signed assertion accepted.</summary>
    public const int MaxAssertionLength = 16 * 1024;

    private static readonly Lazy<HttpClient> SharedHttpClient = new(static () => new HttpClient());

    // Only asymmetric signatures: a JWKS publishes public keys, so an HMAC ("HS256" keyed with a public key) or an
    // unsigned token must never verify.
    private static readonly string[] SigningAlgorithms =
        ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    private readonly RuntimeIdentityConfig _config;
    private readonly IGatewayKeyResolver? _keys;
    private readonly JwksKeyCache? _jwks;
    private readonly JsonWebTokenHandler _tokens = new() { MapInboundClaims = false };
    private readonly TimeProvider _time;
    private readonly TimeSpan _clockSkew;

    private RuntimeIdentityResolver(RuntimeIdentityConfig config, RuntimeIdentityOptions options)
    {
        _config = config;
        _keys = options.GatewayKeyResolver;
        _time = options.TimeProvider;
        _clockSkew = options.ClockSkew;
        if (config.Mode == IdentityMode.SignedAssertion && Uri.TryCreate(config.JwksUrl, UriKind.Absolute, out var jwks))
        {
            _jwks = new JwksKeyCache(jwks, options.HttpClientFactory ?? (static () => SharedHttpClient.Value), options.TimeProvider, options.JwksFetchTimeout, options.JwksMaxAge, options.JwksMinRefreshInterval);
        }
    }

    /// <summary>The identity mode in force.</summary>
    public IdentityMode Mode => _config.Mode;

    /// <summary>Whether requests without a verified identity are refused.</summary>
    public bool RequiresVerifiedIdentity => _config.RequireVerifiedIdentity;

    /// <summary>Creates the resolver for a configuration's <c>runtime_identity</c> section.</summary>
    /// <param name="config">The section, from a configuration that loaded without errors.</param>
    /// <param name="options">Options, or null for defaults.</param>
    /// <returns>The resolver.</returns>
    /// <exception cref="ArgumentException"><c>signed_assertion</c> mode without an absolute <c>jwks_url</c>.</exception>
    public static RuntimeIdentityResolver Create(RuntimeIdentityConfig config, RuntimeIdentityOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Mode == IdentityMode.SignedAssertion && !Uri.TryCreate(config.JwksUrl, UriKind.Absolute, out _))
        {
            throw new ArgumentException("signed_assertion mode needs an absolute jwks_url.", nameof(config));
        }

        return new RuntimeIdentityResolver(config, options ?? new RuntimeIdentityOptions());
    }

    /// <summary>Resolves the caller of one request.</summary>
    /// <param name="evidence">What the request presents.</param>
    /// <param name="cancellationToken">Cancels the resolution.</param>
    /// <returns>The identity, or a refusal with its status.</returns>
    public async ValueTask<IdentityResolution> ResolveAsync(IdentityEvidence evidence, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        var bearer = Bearer(evidence.Authorization);
        if (bearer is not null && bearer.StartsWith(GatewayKeys.Prefix, StringComparison.Ordinal))
        {
            return await ResolveKeyAsync(bearer, cancellationToken).ConfigureAwait(false);
        }

        if (_jwks is not null && bearer is not null && LooksLikeJwt(bearer))
        {
            return await ResolveAssertionAsync(bearer, cancellationToken).ConfigureAwait(false);
        }

        if (_config.RequireVerifiedIdentity)
        {
            return IdentityResolution.Refuse(401, _config.Mode == IdentityMode.SignedAssertion
                ? "this gateway requires a verified identity: send a signed assertion (Authorization: Bearer <JWT>) or a gateway key"
                : "this gateway requires a verified identity: send a gateway key (Authorization: Bearer kt_gk_...)");
        }

        return ResolveHints(evidence);
    }

    /// <inheritdoc />
    public void Dispose() => _jwks?.Dispose();

    internal JwksKeyCache? Jwks => _jwks;

    private async ValueTask<IdentityResolution> ResolveKeyAsync(string key, CancellationToken cancellationToken)
    {
        if (!GatewayKeys.IsGatewayKey(key) || _keys is null)
        {
            return IdentityResolution.Refuse(401, "the gateway key is not valid");
        }

        var entry = await _keys.FindAsync(GatewayKeys.Hash(key), cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return IdentityResolution.Refuse(401, "the gateway key is not valid");
        }

        return IdentityResolution.Success(new CallerIdentity
        {
            UserId = string.IsNullOrEmpty(entry.Owner) ? entry.Id : entry.Owner,
            Team = entry.Team,
            ProofMethod = IdentityProofMethod.GatewayKey,
            KeyId = entry.Id,
            Scopes = entry.Scopes,
        });
    }

    private async ValueTask<IdentityResolution> ResolveAssertionAsync(string token, CancellationToken cancellationToken)
    {
        if (token.Length > MaxAssertionLength)
        {
            return IdentityResolution.Refuse(401, "the signed assertion is too long");
        }

        string? kid;
        try
        {
            kid = new JsonWebToken(token).Kid;
        }
        catch (ArgumentException)
        {
            return IdentityResolution.Refuse(401, "the signed assertion is not a well-formed JWT");
        }

        var keys = await _jwks!.GetKeysAsync(cancellationToken).ConfigureAwait(false);
        if (kid is not null && (keys is null || !keys.Any(k => string.Equals(k.KeyId, kid, StringComparison.Ordinal))))
        {
            keys = await _jwks.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        if (keys is null)
        {
            return IdentityResolution.Refuse(503, "the signing keys of signed assertions cannot be fetched right now; retry later");
        }

        var parameters = new TokenValidationParameters
        {
            IssuerSigningKeys = keys,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            ValidAlgorithms = SigningAlgorithms,
            ValidateIssuer = _config.Issuer is not null,
            ValidIssuer = _config.Issuer,
            ValidateAudience = _config.Audience is not null,
            ValidAudience = _config.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            LifetimeValidator = ValidateLifetime,
        };

        var result = await _tokens.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return IdentityResolution.Refuse(401, "the signed assertion is not valid: " + Describe(result.Exception));
        }

        var claims = result.ClaimsIdentity;
        var subject = claims.FindFirst("sub")?.Value;
        if (string.IsNullOrEmpty(subject))
        {
            return IdentityResolution.Refuse(401, "the signed assertion has no 'sub' claim naming the user");
        }

        return IdentityResolution.Success(new CallerIdentity
        {
            UserId = subject,
            UserRole = claims.FindFirst("role")?.Value ?? claims.FindFirst("roles")?.Value,
            Team = claims.FindFirst("team")?.Value,
            ProofMethod = IdentityProofMethod.SignedAssertion,
            Scopes = Scopes(claims),
        });
    }

    /// <summary>Lifetime against this resolver's clock, so tests and the gateway agree on what "now" is.</summary>
    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (expires is not { } expiry)
        {
            throw new SecurityTokenNoExpirationException("The token has no expiry.");
        }

        if (now > expiry.ToUniversalTime() + _clockSkew)
        {
            throw new SecurityTokenExpiredException("The token has expired.");
        }

        if (notBefore is { } start && now + _clockSkew < start.ToUniversalTime())
        {
            throw new SecurityTokenNotYetValidException("The token is not valid yet.");
        }

        return true;
    }

    private static IdentityResolution ResolveHints(IdentityEvidence evidence)
    {
        var user = Trim(evidence.UserIdHint);
        var role = Trim(evidence.UserRoleHint);
        if (!ValidHint(user) || !ValidHint(role))
        {
            return IdentityResolution.Refuse(400, $"X-User-ID and X-User-Role must be at most {MaxHintLength} printable characters");
        }

        if (user is null)
        {
            return IdentityResolution.Success(role is null ? CallerIdentity.Anonymous : new CallerIdentity { UserRole = role });
        }

        return IdentityResolution.Success(new CallerIdentity { UserId = user, UserRole = role, ProofMethod = IdentityProofMethod.HeaderSoft });
    }

    private static string? Trim(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static bool ValidHint(string? value) =>
        value is null || (value.Length <= MaxHintLength && !value.Any(char.IsControl));

    private static string? Bearer(string? authorization)
    {
        if (authorization is null)
        {
            return null;
        }

        var value = authorization.AsSpan().Trim();
        return value.Length > 7 && value[..7].Equals("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? value[7..].Trim().ToString()
            : null;
    }

    private static bool LooksLikeJwt(string token) =>
        token.StartsWith("eyJ", StringComparison.Ordinal) && token.AsSpan().Count('.') == 2;

    private static IReadOnlyList<string> Scopes(ClaimsIdentity claims)
    {
        var scopes = new List<string>();
        foreach (var claim in claims.FindAll(static c => c.Type is "scope" or "scp"))
        {
            scopes.AddRange(claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        return scopes;
    }

    /// <summary>A short reason by failure kind; token contents never appear.</summary>
    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "it has expired",
        SecurityTokenNotYetValidException => "it is not valid yet",
        SecurityTokenNoExpirationException => "it has no expiry",
        SecurityTokenInvalidIssuerException => "the issuer is not the one expected",
        SecurityTokenInvalidAudienceException => "the audience is not the one expected",
        SecurityTokenSignatureKeyNotFoundException => "it is signed with a key the JWKS does not publish",
        SecurityTokenInvalidSignatureException => "the signature does not verify",
        SecurityTokenInvalidLifetimeException => "its lifetime is invalid",
        SecurityTokenMalformedException or ArgumentException => "it is not a well-formed JWT",
        _ => "it cannot be verified",
    };
}
