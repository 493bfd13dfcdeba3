using Keeptrusts.GatewayHost.Relay;

namespace Keeptrusts.GatewayHost.Tests.Relay;

public sealed class RelayUrlTests
{
    [Theory]
    [InlineData("https://api.eu.keeptrusts.com", "wss://relay.eu.keeptrusts.com/v1/gateway/relay")]
    [InlineData("https://api.us.keeptrusts.com", "wss://relay.us.keeptrusts.com/v1/gateway/relay")]
    [InlineData("https://api.eu.keeptrusts.com/", "wss://relay.eu.keeptrusts.com/v1/gateway/relay")]
    [InlineData("https://api.eu.keeptrusts.com/v1", "wss://relay.eu.keeptrusts.com/v1/gateway/relay")]
    [InlineData("https://API.eu.keeptrusts.com", "wss://relay.eu.keeptrusts.com/v1/gateway/relay")]
    [InlineData("https://api.keeptrusts.com:8443", "wss://relay.keeptrusts.com:8443/v1/gateway/relay")]
    [InlineData("http://api.local:8080", "ws://relay.local:8080/v1/gateway/relay")]
    [InlineData("http://localhost:5080", "ws://localhost:5080/v1/gateway/relay")]
    [InlineData("http://127.0.0.1:5080/", "ws://127.0.0.1:5080/v1/gateway/relay")]
    [InlineData("https://control.example.com", "wss://control.example.com/v1/gateway/relay")]
    [InlineData("https://myapi.example.com", "wss://myapi.example.com/v1/gateway/relay")]
    [InlineData("https://eu.api.example.com", "wss://eu.api.example.com/v1/gateway/relay")]
    [InlineData("https://api.eu.keeptrusts.com/?x=1", "wss://relay.eu.keeptrusts.com/v1/gateway/relay")]
    [InlineData("https://[::1]:9000", "wss://[::1]:9000/v1/gateway/relay")]
    public void Derives_the_relay_url_from_the_api_url(string apiUrl, string expected)
    {
        Assert.Equal(expected, RelayUrl.Derive(new Uri(apiUrl))!.AbsoluteUri);
    }

    [Theory]
    [InlineData("ftp://api.example.com")]
    [InlineData("https://user:pw@api.example.com")]
    public void Refuses_api_urls_it_cannot_map(string apiUrl)
    {
        Assert.Null(RelayUrl.Derive(new Uri(apiUrl)));
    }

    [Fact]
    public void A_host_that_is_only_api_dot_is_kept()
    {
        // "api." alone has no label left to put "relay." in front of.
        Assert.Equal("wss://api/v1/gateway/relay", RelayUrl.Derive(new Uri("https://api"))!.AbsoluteUri);
    }

    [Theory]
    [InlineData("wss://relay.example.com/custom/path", "wss://relay.example.com/custom/path")]
    [InlineData("ws://127.0.0.1:7000/v1/gateway/relay", "ws://127.0.0.1:7000/v1/gateway/relay")]
    [InlineData("https://relay.example.com/v1/gateway/relay", "wss://relay.example.com/v1/gateway/relay")]
    [InlineData("http://127.0.0.1:7000/v1/gateway/relay", "ws://127.0.0.1:7000/v1/gateway/relay")]
    public void An_explicit_relay_url_is_used_as_given(string text, string expected)
    {
        Assert.Equal(expected, RelayUrl.ParseOverride(text)!.AbsoluteUri);
    }

    [Theory]
    [InlineData("relay.example.com")]
    [InlineData("ftp://relay.example.com")]
    [InlineData("wss://user:secret@relay.example.com")]
    [InlineData("wss://relay.example.com/#frag")]
    public void A_bad_explicit_relay_url_is_refused(string text)
    {
        Assert.Null(RelayUrl.ParseOverride(text));
    }

    [Fact]
    public void Display_drops_the_query()
    {
        Assert.Equal("wss://relay.example.com/v1/gateway/relay", RelayUrl.Display(new Uri("wss://relay.example.com/v1/gateway/relay?token=abc")));
    }
}
