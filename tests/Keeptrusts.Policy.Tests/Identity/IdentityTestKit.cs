using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Keeptrusts.Policy.Tests.Identity;

/// <summary>A clock that moves only when told to.</summary>
internal sealed class StepClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Serves a JWKS document from memory and counts fetches; keys and tokens are made here.</summary>
internal sealed class JwksHandler : HttpMessageHandler
{
    public const string Url = "https://idp.test/.well-known/jwks.json";
    public const string Issuer = "https://idp.test";
    public const string Audience = "gateway";

    private readonly List<RsaSecurityKey> _keys = [];
    private int _fetches;

    public int Fetches => Volatile.Read(ref _fetches);

    public HttpStatusCode Status { get; set; } = HttpStatusCode.OK;

    public string? Body { get; set; }

    public RsaSecurityKey AddKey(bool publish = true)
    {
        var key = new RsaSecurityKey(RSA.Create(2048)) { KeyId = "kid-" + Guid.NewGuid().ToString("N")[..6] };
        if (publish)
        {
            lock (_keys)
            {
                _keys.Add(key);
            }
        }

        return key;
    }

    public void Publish(RsaSecurityKey key)
    {
        lock (_keys)
        {
            _keys.Add(key);
        }
    }

    public HttpClient Client() => new(this, disposeHandler: false);

    public static string Token(RsaSecurityKey key, DateTimeOffset now, string? subject = "user-1", TimeSpan? lifetime = null, IDictionary<string, object>? claims = null, string? audience = Audience)
    {
        var all = new Dictionary<string, object>(claims ?? new Dictionary<string, object>());
        if (subject is not null)
        {
            all["sub"] = subject;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Claims = all,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = now.UtcDateTime + (lifetime ?? TimeSpan.FromMinutes(10)),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
        });
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _fetches);
        string body;
        lock (_keys)
        {
            body = Body ?? JsonSerializer.Serialize(new
            {
                keys = _keys.Select(static k =>
                {
                    var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(k);
                    return new Dictionary<string, string> { ["kty"] = "RSA", ["kid"] = k.KeyId, ["use"] = "sig", ["n"] = jwk.N, ["e"] = jwk.E };
                }),
            });
        }

        return Task.FromResult(new HttpResponseMessage(Status) { Content = new StringContent(body, Encoding.UTF8, "application/json") });
    }
}
