using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Keeptrusts.GatewayHost.Cli.Gateway;

/// <summary>
/// Where the gateway listens: <c>host:port</c> with an IP address (<c>0.0.0.0:41002</c>, <c>127.0.0.1:8080</c>),
/// <c>[ipv6]:port</c> (<c>[::]:41002</c>), <c>localhost:port</c> (loopback on IPv4 and IPv6), <c>*:port</c> or
/// <c>:port</c> (every interface). Port 0 picks a free port.
/// </summary>
internal sealed record ListenAddress(IPAddress? Address, int Port)
{
    public const int DefaultPort = 41002;

    public static readonly ListenAddress Default = new(IPAddress.Any, DefaultPort);

    /// <summary>Loopback on both families, as Kestrel's ListenLocalhost binds it.</summary>
    public bool IsLocalhost => Address is null;

    public static bool TryParse(string text, [NotNullWhen(true)] out ListenAddress? address, [NotNullWhen(false)] out string? problem)
    {
        address = null;
        text = text.Trim();
        string host;
        string portText;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                problem = $"'{text}' is not host:port; an IPv6 address is written [::1]:41002";
                return false;
            }

            host = text[1..close];
            portText = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                problem = $"'{text}' is not host:port, e.g. 0.0.0.0:41002, [::]:41002 or localhost:41002";
                return false;
            }

            host = text[..colon];
            portText = text[(colon + 1)..];
            if (host.Contains(':', StringComparison.Ordinal))
            {
                problem = $"'{text}' is ambiguous; write an IPv6 address in brackets, e.g. [::]:41002";
                return false;
            }
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > IPEndPoint.MaxPort)
        {
            problem = $"the port in '{text}' must be a number from 0 to 65535";
            return false;
        }

        if (host.Length == 0 || host == "*")
        {
            address = new ListenAddress(IPAddress.Any, port);
        }
        else if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = new ListenAddress(null, port);
        }
        else if (IPAddress.TryParse(host, out var ip) && (text.StartsWith('[') == (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)))
        {
            address = new ListenAddress(ip, port);
        }
        else
        {
            problem = $"the host in '{text}' must be an IP address, localhost or *: a server binds to an interface, not to a name";
            return false;
        }

        problem = null;
        return true;
    }

    public override string ToString() => Address switch
    {
        null => string.Create(CultureInfo.InvariantCulture, $"localhost:{Port}"),
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } ip => string.Create(CultureInfo.InvariantCulture, $"[{ip}]:{Port}"),
        var ip => string.Create(CultureInfo.InvariantCulture, $"{ip}:{Port}"),
    };
}
