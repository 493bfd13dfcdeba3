using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.ControlPlaneEmulator.Faults;
using Keeptrusts.GatewayHost.ControlPlane;
using Keeptrusts.GatewayHost.Tenancy;
using Keeptrusts.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Keeptrusts.GatewayHost.Tests.Tenancy;

/// <summary>The resolution cache of hosted mode on a manual clock, against the emulator.</summary>
public sealed class HostedTenantsCacheTests
{
    private const string Key = "kt_gk_cache_key_0000000000001";

    [Fact]
    public async Task A_resolution_is_reused_for_its_ttl_and_a_new_config_version_builds_a_new_revision()
    {
        await using var api = await EmulatorHost.StartAsync();
        HostedModeTests.AddTenant(api, Key, "gk_cache", "c@example.com", "c", HostedModeTests.EchoChain("cache", "redact"));
        var time = new ManualTime();
        using var http = new HttpClient();
        await using var tenants = Tenants(api, http, time);

        Assert.Equal("gk_cache@1", await RevisionAsync(tenants));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("gk_cache@1", await RevisionAsync(tenants));
        Assert.Equal(1, tenants.Resolutions);

        HostedModeTests.AddTenant(api, Key, "gk_cache", "c@example.com", "c", HostedModeTests.EchoChain("cache", "block"), version: "2");
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("gk_cache@2", await RevisionAsync(tenants));
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("gk_cache@2", await RevisionAsync(tenants));
        Assert.Equal(3, tenants.Resolutions);
        Assert.Equal(2, tenants.Builds);
    }

    [Fact]
    public async Task While_the_api_fails_the_last_good_resolution_serves_for_ten_minutes_then_503_with_retry_after()
    {
        await using var api = await EmulatorHost.StartAsync();
        HostedModeTests.AddTenant(api, Key, "gk_cache", "c@example.com", "c", HostedModeTests.EchoChain("cache", "redact"));
        var time = new ManualTime();
        using var http = new HttpClient();
        await using var tenants = Tenants(api, http, time);
        Assert.Equal("gk_cache@1", await RevisionAsync(tenants));

        api.Faults.Set(FaultMode.Unavailable, null);
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal("gk_cache@1", await RevisionAsync(tenants));
        time.Advance(TimeSpan.FromMinutes(8));
        Assert.Equal("gk_cache@1", await RevisionAsync(tenants));

        // Ten minutes after the last good answer (at 0:00) it is not served any more.
        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(5));
        var refused = await tenants.AcquireAsync(Request(Key), CancellationToken.None);

        Assert.Null(refused.Lease);
        Assert.Equal(503, refused.Status);
        Assert.Equal("control_plane_unavailable", refused.Code);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.RetryAfter);

        api.Faults.Set(FaultMode.None, null);
        time.Advance(TimeSpan.FromSeconds(6));
        Assert.Equal("gk_cache@1", await RevisionAsync(tenants));
    }

    [Fact]
    public async Task Concurrent_first_requests_for_one_key_make_one_call()
    {
        await using var api = await EmulatorHost.StartAsync();
        HostedModeTests.AddTenant(api, Key, "gk_cache", "c@example.com", "c", HostedModeTests.EchoChain("cache", "redact"));
        api.Faults.Set(FaultMode.Silent, "/v1/gateway-keys");
        using var http = new HttpClient();
        await using var tenants = Tenants(api, http, new ManualTime());

        var waiting = Enumerable.Range(0, 50).Select(_ => tenants.AcquireAsync(Request(Key), CancellationToken.None).AsTask()).ToList();
        await GatewayHost.Tests.Gateway.GatewayLifecycleTests.PollAsync(() => Task.FromResult(api.Faults.Faulted), n => n >= 1);
        api.Faults.Set(FaultMode.None, null);
        var results = await Task.WhenAll(waiting);

        // The held call was answered 503 when the fault cleared; all fifty callers shared that one call.
        Assert.Equal(1, tenants.Resolutions);
        Assert.All(results, static r => Assert.Equal(503, r.Status));
    }

    private static HostedTenants Tenants(RunningEmulator api, HttpClient http, TimeProvider time) =>
        new(new ControlPlaneClient(http, api.BaseAddress, "token"), new HostedTenantOptions(), null, time, NullLoggerFactory.Instance);

    private static async Task<string> RevisionAsync(HostedTenants tenants)
    {
        var acquired = await tenants.AcquireAsync(Request(Key), CancellationToken.None);
        Assert.True(acquired.Lease is not null, $"{acquired.Status} {acquired.Code}: {acquired.Message}");
        using var lease = acquired.Lease!.Value;
        return lease.Snapshot.Revision;
    }

    private static DefaultHttpContext Request(string key)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = "Bearer " + key;
        return context;
    }
}
