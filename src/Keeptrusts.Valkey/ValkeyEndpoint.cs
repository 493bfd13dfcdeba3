using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace Keeptrusts.Valkey;

/// <summary>
/// A parsed Valkey URL: <c>redis://[user:password@]host[:port][/db]</c>, <c>rediss://</c> for TLS
/// (<c>valkey://</c> and <c>valkeys://</c> are accepted too). <see cref="ToString"/> never shows the password.
/// </summary>
internal sealed record ValkeyEndpoint(string Host, int Port, bool Tls, string? User, string? Password, int Database)
{
    public const int DefaultPort = 6379;

    public static bool TryParse(string url, [NotNullWhen(true)] out ValkeyEndpoint? endpoint, [NotNullWhen(false)] out string? problem)
    {
        endpoint = null;
        if (!Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri))
        {
            // The text may hold a password: describe it, never echo it.
            problem = "not an absolute URL; expected redis://[user:password@]host[:port][/db]";
            return false;
        }

        bool tls;
        switch (uri.Scheme)
        {
            case "redis" or "valkey":
                tls = false;
                break;
            case "rediss" or "valkeys":
                tls = true;
                break;
            default:
                problem = $"the scheme '{uri.Scheme}' is not redis, rediss, valkey or valkeys";
                return false;
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            problem = "the URL has no host";
            return false;
        }

        string? user = null;
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                // redis://secret@host: a lone user-info part is a password (AUTH password), as most clients read it.
                password = Uri.UnescapeDataString(uri.UserInfo);
            }
            else
            {
                user = colon > 0 ? Uri.UnescapeDataString(uri.UserInfo[..colon]) : null;
                password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database) || database > 10_000))
        {
            problem = "the path must be a database number such as /0";
            return false;
        }

        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        endpoint = new ValkeyEndpoint(host, uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port, tls, user, string.IsNullOrEmpty(password) ? null : password, database);
        problem = null;
        return true;
    }

    /// <summary>The client configuration for this endpoint, tuned so an outage costs milliseconds, not seconds.</summary>
    public ConfigurationOptions ToConfiguration(ValkeyOptions options)
    {
        var configuration = new ConfigurationOptions
        {
            User = User,
            Password = Password,
            Ssl = Tls,
            DefaultDatabase = Database,
            ConnectTimeout = Milliseconds(options.ConnectTimeout),
            SyncTimeout = Milliseconds(options.CommandTimeout),
            AsyncTimeout = Milliseconds(options.CommandTimeout),
            HeartbeatInterval = options.HeartbeatInterval,
            ReconnectRetryPolicy = new LinearRetry(Milliseconds(options.ReconnectInterval)),
            // Commands fail at once while disconnected, so the fail-open path takes over instead of a queue filling up.
            BacklogPolicy = BacklogPolicy.FailFast,
            AbortOnConnectFail = false,
            ConnectRetry = 1,
            ClientName = "keeptrusts",
        };
        if (IPAddress.TryParse(Host, out var address))
        {
            configuration.EndPoints.Add(address, Port);
        }
        else
        {
            configuration.EndPoints.Add(Host, Port);
        }

        return configuration;
    }

    private static int Milliseconds(TimeSpan value) => (int)Math.Clamp(value.TotalMilliseconds, 1, int.MaxValue);

    /// <summary><c>rediss://host:port/db</c>, with the user but never the password.</summary>
    public override string ToString()
    {
        var host = Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host;
        var user = User is null ? string.Empty : User + "@";
        return string.Create(CultureInfo.InvariantCulture, $"{(Tls ? "rediss" : "redis")}://{user}{host}:{Port}/{Database}");
    }
}
