using Keeptrusts.ControlPlaneEmulator.Faults;
using Keeptrusts.ControlPlaneEmulator.Storage;

namespace Keeptrusts.ControlPlaneEmulator;

/// <summary>Starts the emulator in-process on 127.0.0.1 with an ephemeral port, for tests.</summary>
public static class EmulatorHost
{
    /// <summary>
    /// Starts an emulator on <c>http://127.0.0.1:0</c>. <paramref name="seedYaml"/> is the text of a seed file (see
    /// <c>seed.yaml</c>); <paramref name="time"/> is the clock of event timestamps and <c>since</c> queries.
    /// </summary>
    public static async Task<RunningEmulator> StartAsync(string? seedYaml = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        var store = new EmulatorStore(time ?? TimeProvider.System);
        if (seedYaml is not null)
        {
            EmulatorSeed.Load(seedYaml, "seed").ApplyTo(store);
        }

        var app = EmulatorApp.Build(["--urls", "http://127.0.0.1:0"], store, time, static b => b.Logging.ClearProviders());
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Urls.First();
        return new RunningEmulator(app, new Uri(address.TrimEnd('/') + "/"), store, app.Services.GetRequiredService<FaultSwitch>());
    }
}

/// <summary>An emulator started by <see cref="EmulatorHost.StartAsync"/>; disposing it stops it.</summary>
public sealed class RunningEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;

    internal RunningEmulator(WebApplication app, Uri baseAddress, EmulatorStore store, FaultSwitch faults)
    {
        _app = app;
        BaseAddress = baseAddress;
        Store = store;
        Faults = faults;
    }

    /// <summary>The emulator's address, ending in <c>/</c> (use it as <c>KEEPTRUSTS_API_URL</c>).</summary>
    public Uri BaseAddress { get; }

    /// <summary>What the emulator holds: events received, config variables, gateway keys, tokens.</summary>
    public EmulatorStore Store { get; }

    /// <summary>The fault switch (the same one <c>POST /admin/faults</c> sets).</summary>
    public FaultSwitch Faults { get; }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Faults.Set(FaultMode.None, null);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
