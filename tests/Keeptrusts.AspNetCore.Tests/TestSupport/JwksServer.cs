using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Keeptrusts.AspNetCore.Tests.TestSupport;

/// <summary>
/// An identity provider for tests: RSA keys generated here, their JWKS served on 127.0.0.1, and tokens signed with them.
/// </summary>
internal sealed class JwksServer : IAsyncDisposable
{
    public const string Issuer = "https://issuer.test";
    public const string Audience = "keeptrusts-gateway";

    private readonly WebApplication _app;
    private readonly List<RsaSecurityKey> _published = [];
    private int _fetches;

    private JwksServer(WebApplication app)
    {
        _app = app;
        Url = app.Urls.First() + "/.well-known/jwks.json";
    }

    public string Url { get; }

    public int Fetches => Volatile.Read(ref _fetches);

    /// <summary>When false, the JWKS endpoint answers 503.</summary>
    public bool Available { get; set; } = true;

    public static async Task<JwksServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        JwksServer? server = null;
        app.MapGet("/.well-known/jwks.json", http =>
        {
            Interlocked.Increment(ref server!._fetches);
            if (!server.Available)
            {
                http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return Task.CompletedTask;
            }

            http.Response.ContentType = "application/json";
            return http.Response.WriteAsync(server.Document());
        });
        await app.StartAsync(Patience.Token());
        server = new JwksServer(app);
        return server;
    }

    /// <summary>Generates a key; published ones appear in the JWKS.</summary>
    public RsaSecurityKey NewKey(bool publish = true)
    {
        var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "key-" + Guid.NewGuid().ToString("N")[..8] };
        if (publish)
        {
            lock (_published)
            {
                _published.Add(key);
            }
        }

        return key;
    }

    public void Publish(RsaSecurityKey key)
    {
        lock (_published)
        {
            _published.Add(key);
        }
    }

    public static string Token(RsaSecurityKey key, string subject, DateTimeOffset now, string? audience = Audience, string issuer = Issuer, TimeSpan? lifetime = null, IDictionary<string, object>? claims = null)
    {
        var all = new Dictionary<string, object>(claims ?? new Dictionary<string, object>()) { ["sub"] = subject };
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = all,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime.AddMinutes(-1),
            Expires = now.UtcDateTime + (lifetime ?? TimeSpan.FromMinutes(10)),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
    }

    private string Document()
    {
        lock (_published)
        {
            var keys = _published.Select(static k =>
            {
                var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(k);
                return new Dictionary<string, string> { ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = k.KeyId, ["n"] = jwk.N, ["e"] = jwk.E };
            });
            return JsonSerializer.Serialize(new { keys });
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(Patience.Limit);
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
