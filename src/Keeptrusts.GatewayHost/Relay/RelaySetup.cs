using Keeptrusts.GatewayHost.Cli.Gateway;

namespace Keeptrusts.GatewayHost.Relay;

/// <summary>
/// Decides from the environment whether the relay runs and with what: on by default for a connected gateway
/// (<c>KEEPTRUSTS_API_URL</c> set, or <c>KEEPTRUSTS_RELAY_URL</c>), off with <c>KEEPTRUSTS_RELAY=off</c>.
/// </summary>
internal static class RelaySetup
{
    public const string RelayVariable = "KEEPTRUSTS_RELAY";
    public const string RelayUrlVariable = "KEEPTRUSTS_RELAY_URL";
    public const string ApiTokenVariable = "KEEPTRUSTS_API_TOKEN";
    public const string RegistrationIdVariable = "KEEPTRUSTS_RUNTIME_REGISTRATION_ID";

    /// <summary>
    /// The relay's options, or why it is off. <paramref name="problems"/> gets values that are wrong (a bad
    /// switch or URL), which stop the gateway; a missing registration id or token only turns the relay off, with a
    /// warning (the third value true).
    /// </summary>
    public static (RelayOptions? Options, string OffReason, bool Warn) Resolve(Func<string, string?> env, Uri? apiUrl, string? gatewayToken, List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(problems);
        var enabled = true;
        if (NonEmpty(env(RelayVariable)) is { } switchText)
        {
            switch (switchText.ToLowerInvariant())
            {
                case "on" or "true" or "1":
                    break;
                case "off" or "false" or "0":
                    enabled = false;
                    break;
                default:
                    problems.Add($"{RelayVariable} must be on or off, found '{switchText}'");
                    return (null, "invalid", false);
            }
        }

        Uri? url = null;
        if (NonEmpty(env(RelayUrlVariable)) is { } urlText)
        {
            url = RelayUrl.ParseOverride(urlText);
            if (url is null)
            {
                // Never echo the value: a URL may carry credentials.
                problems.Add($"{RelayUrlVariable} must be an absolute ws, wss, http or https URL without credentials or a fragment");
                return (null, "invalid", false);
            }
        }

        if (!enabled)
        {
            return (null, $"{RelayVariable}=off", false);
        }

        url ??= apiUrl is null ? null : RelayUrl.Derive(apiUrl);
        if (url is null)
        {
            return (null, $"not a connected gateway ({GatewayRunSettings.ApiUrlVariable} is not set)", false);
        }

        var token = NonEmpty(env(ApiTokenVariable)) ?? NonEmpty(gatewayToken);
        if (token is null || token.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            return (null, $"no token: set {ApiTokenVariable} (the machine token)", true);
        }

        if (NonEmpty(env(RegistrationIdVariable)) is not { } registrationId)
        {
            return (null, $"{RegistrationIdVariable} is not set", true);
        }

        return (new RelayOptions { Url = url, Token = token, RegistrationId = registrationId }, string.Empty, false);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
