using System.Text.RegularExpressions;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Linting.Rules;

/// <summary>Distributed rate limits and runtime identity are complete and consistent.</summary>
internal sealed partial class GatewayRule : IConfigRule
{
    public void Check(LintContext context)
    {
        if (context.Config.DistributedRateLimit is { } limit)
        {
            if (limit.UrlEnv.Length > 0 && !EnvName().IsMatch(limit.UrlEnv))
            {
                context.Report(DiagnosticCodes.RateLimitUrlEnv, $"url_env names the environment variable that holds the URL (e.g. KEEPTRUSTS_REDIS_URL), not the URL itself; '{limit.UrlEnv}' is not a variable name", "distributed_rate_limit.url_env");
            }

            if (limit.RequestsPerMinute < 1)
            {
                context.Report(DiagnosticCodes.InvalidValue, $"requests_per_minute must be at least 1, found {limit.RequestsPerMinute}", "distributed_rate_limit.requests_per_minute");
            }

            foreach (var (name, value) in new[] { ("tenant", limit.Tenant), ("org", limit.Org), ("gateway", limit.Gateway) })
            {
                if (value is not null && !KeyPart().IsMatch(value))
                {
                    context.Report(DiagnosticCodes.InvalidValue, $"{name} becomes part of every Valkey key: 1 to 64 letters, digits, '.', '_' or '-', found '{value}'", "distributed_rate_limit." + name);
                }
            }
        }

        if (context.Config.Deduplication is { } dedup && dedup.WindowSeconds is < 1 or > 86_400)
        {
            context.Report(DiagnosticCodes.InvalidValue, $"window_seconds must be between 1 and 86400, found {dedup.WindowSeconds}", "deduplication.window_seconds");
        }

        if (context.Config.Memory is { } memory)
        {
            foreach (var (name, value, min, max) in new[]
            {
                ("max_entries", memory.MaxEntries, 1, 1000),
                ("token_budget", memory.TokenBudget, 1, 100_000),
                ("ttl_seconds", memory.TtlSeconds, 60, 2_592_000),
                ("cache_seconds", memory.CacheSeconds, 0, 3600),
            })
            {
                if (value < min || value > max)
                {
                    context.Report(DiagnosticCodes.InvalidValue, $"{name} must be between {min} and {max}, found {value}", "memory." + name);
                }
            }

            if (memory.Scopes.Count == 0)
            {
                context.Report(DiagnosticCodes.InvalidValue, "scopes must name at least one of conversation, user", "memory.scopes");
            }

            if (memory.Backend == MemoryBackend.Valkey && context.Config.DistributedRateLimit is null)
            {
                context.Report(DiagnosticCodes.MemoryWithoutValkey, "memory.backend valkey uses the distributed_rate_limit connection, which is not configured: memory is kept per instance", "memory.backend");
            }
        }

        var identity = context.Config.RuntimeIdentity;
        if (identity.Mode == IdentityMode.SignedAssertion && string.IsNullOrWhiteSpace(identity.JwksUrl))
        {
            context.Report(DiagnosticCodes.JwksUrlMissing, "signed_assertion mode verifies tokens against a JWKS; set runtime_identity.jwks_url", "runtime_identity.mode");
        }

        if (identity.JwksUrl is { } jwks && (!Uri.TryCreate(jwks, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback))))
        {
            context.Report(DiagnosticCodes.InvalidValue, $"jwks_url must be an absolute https URL (http only for loopback), found '{jwks}'", "runtime_identity.jwks_url");
        }

        if (identity.RequireVerifiedIdentity && identity.Mode == IdentityMode.HeaderSoft && identity.GatewayKeys.Count == 0 && identity.GatewayKeysFile is null)
        {
            context.Report(DiagnosticCodes.VerifiedIdentityUnreachable, "require_verified_identity is on, but header_soft mode cannot verify anyone and no gateway keys are configured: every request will get 401", "runtime_identity.require_verified_identity");
        }

        for (var i = 0; i < identity.GatewayKeys.Count; i++)
        {
            var key = identity.GatewayKeys[i];
            if (key.Sha256.Length > 0 && !Sha256Hex().IsMatch(key.Sha256))
            {
                context.Report(DiagnosticCodes.InvalidValue, "sha256 must be the 64-character lowercase hex SHA-256 of the key, never the key itself", ConfigPath.Index("runtime_identity.gateway_keys", i) + ".sha256");
            }
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex KeyPart();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}
