using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

/// <summary>IPv4 (from the number pass) and IPv6 (from the colon pass) together: both report IP_ADDRESS.</summary>
public class Ipv6DetectorTests
{
    [Theory]
    [InlineData("host 10.20.30.40 is up", "10.20.30.40")]
    [InlineData("gateway 0.0.0.0", "0.0.0.0")]
    [InlineData("broadcast 255.255.255.255.", "255.255.255.255")]
    [InlineData("net 10.0.0.0/8 routes", "10.0.0.0/8")]
    [InlineData("net 10.0.0.0/99 is wrong", "10.0.0.0")]
    [InlineData("http://172.16.5.4:8080/health", "172.16.5.4")]
    [InlineData("peer=8.8.4.4,", "8.8.4.4")]
    [InlineData("v6 2001:db8:85a3::8a2e:370:7334 ok", "2001:db8:85a3::8a2e:370:7334")]
    [InlineData("full 2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:0db8:0000:0000:0000:ff00:0042:8329")]
    [InlineData("loopback ::1.", "::1")]
    [InlineData("mapped ::ffff:10.1.2.3", "::ffff:10.1.2.3")]
    [InlineData("link fe80::1ff:fe23:4567:890a%eth0 up", "fe80::1ff:fe23:4567:890a%eth0")]
    [InlineData("net 2001:db8:abcd::/48", "2001:db8:abcd::/48")]
    [InlineData("url http://[2001:db8::7]:443/", "2001:db8::7")]
    [InlineData("ssh root@2001:db8::22", "2001:db8::22")]
    public void Finds_addresses(string text, string expected) => Assert.Equal([expected], Values(text, PiiEntityType.IpAddress));

    [Theory]
    [InlineData("version 1.2.3.4.5")]
    [InlineData("release v1.2.3.4")]
    [InlineData("octet 256.1.1.1")]
    [InlineData("leading zero 010.1.1.1")]
    [InlineData("three parts 10.1.1")]
    [InlineData("time 12:30:45")]
    [InlineData("std::vector<int>")]
    [InlineData("mac 00:1a:2b:3c:4d:5e")]
    [InlineData("ratio 16:9 and 4:3")]
    [InlineData("bad 2001::db8::1")]
    [InlineData("bad 12345::1")]
    [InlineData("glued abc2001:db8::1")]
    [InlineData("just :: alone")]
    [InlineData("Facade:beef")]
    public void Rejects_non_addresses(string text) => Assert.Empty(Values(text, PiiEntityType.IpAddress));
}
