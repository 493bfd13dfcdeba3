using System.Net;
using System.Text;
using System.Text.Json;
using Keeptrusts.ControlPlaneEmulator;
using Keeptrusts.ControlPlaneEmulator.Relay;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Tests.Relay;

/// <summary>
/// The control-plane emulator (samples/control-plane-emulator, built by <see cref="EmulatorApp.Build"/>) on 127.0.0.1
/// with a free port, with a relay hub the tests hold so they can flip its switches and read what it saw.
/// </summary>
internal sealed class RelayEmulator : IAsyncDisposable
{
    public const string RegistrationId = "rt_test_01";
    public const string Token = "kt_mt_relay-secret-token-0123456789";

    private readonly WebApplication _app;

    private RelayEmulator(WebApplication app, RelayHub hub, Uri baseUrl)
    {
        _app = app;
        Hub = hub;
        BaseUrl = baseUrl;
        Http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
    }

    public RelayHub Hub { get; }

    public Uri BaseUrl { get; }

    public Uri RelayUrl => new($"ws://127.0.0.1:{BaseUrl.Port}/v1/gateway/relay");

    public HttpClient Http { get; }

    public static async Task<RelayEmulator> StartAsync()
    {
        var hub = new RelayHub { ExpectedToken = Token };
        var app = EmulatorApp.Build(["--urls", "http://127.0.0.1:0"], configure: b =>
        {
            b.Logging.ClearProviders();
            b.Services.AddSingleton(hub);
        });
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return new RelayEmulator(app, hub, new Uri(app.Urls.First()));
    }

    /// <summary>Waits (bounded) until a gateway is registered as <see cref="RegistrationId"/>; returns its connection.</summary>
    public async Task<RelayGatewayConnection> WaitRegisteredAsync(string? notSession = null)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            if (Hub.Find(RegistrationId) is { } connection && connection.SessionId != notSession)
            {
                return connection;
            }

            await Task.Delay(20, timeout.Token);
        }
    }

    /// <summary>Waits (bounded) for a condition that another thread makes true.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (!condition())
            {
                await Task.Delay(20, timeout.Token);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("timed out waiting for " + what);
        }
    }

    public Task<HttpResponseMessage> ChatAsync(string prompt, bool stream = false, CancellationToken cancellationToken = default)
    {
        var body = "{\"model\":\"gpt-test\"," + (stream ? "\"stream\":true," : string.Empty) + "\"messages\":[{\"role\":\"user\",\"content\":" + JsonSerializer.Serialize(prompt) + "}]}";
        var request = new HttpRequestMessage(HttpMethod.Post, $"/emulator/relay/{RegistrationId}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        return Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    public async Task SendRawAsync(string frame)
    {
        using var response = await Http.PostAsync($"/emulator/relay/{RegistrationId}/raw", new StringContent(frame, Encoding.UTF8));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Hub.DropAll();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
