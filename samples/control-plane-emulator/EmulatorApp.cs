using Keeptrusts.ControlPlaneEmulator.Admin;
using Keeptrusts.ControlPlaneEmulator.ConfigVariables;
using Keeptrusts.ControlPlaneEmulator.Events;
using Keeptrusts.ControlPlaneEmulator.Faults;
using Keeptrusts.ControlPlaneEmulator.GatewayKeys;
using Keeptrusts.ControlPlaneEmulator.Health;
using Keeptrusts.ControlPlaneEmulator.Relay;
using Keeptrusts.ControlPlaneEmulator.Storage;

namespace Keeptrusts.ControlPlaneEmulator;

/// <summary>Builds the emulator's web application: services, the fault switch and every area's endpoints.</summary>
public static class EmulatorApp
{
    /// <summary>
    /// Builds the application from command-line arguments (<c>--urls</c>, <c>--seed &lt;file&gt;</c>, any ASP.NET Core
    /// setting). <paramref name="store"/> replaces the store the seed file would fill (tests pass their own);
    /// <paramref name="configure"/> adjusts the builder last (tests silence logging).
    /// </summary>
    public static WebApplication Build(string[] args, EmulatorStore? store = null, TimeProvider? time = null, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Keeptrusts", LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);

        var clock = time ?? TimeProvider.System;
        if (store is null)
        {
            store = new EmulatorStore(clock);
            var seedPath = builder.Configuration["seed"];
            if (!string.IsNullOrEmpty(seedPath))
            {
                EmulatorSeed.Load(File.ReadAllText(seedPath), seedPath).ApplyTo(store);
            }
        }

        builder.Services.AddSingleton(store);
        builder.Services.AddSingleton(clock);
        builder.Services.AddSingleton<FaultSwitch>();
        configure?.Invoke(builder);

        var app = builder.Build();

        // The fault switch sits in front of the control-plane API (not /admin), so tests can take the API away.
        app.UseFaultSwitch();

        app.MapHealthEndpoints();
        app.MapEventsEndpoints();
        app.MapConfigVariablesEndpoints();
        app.MapGatewayKeysEndpoints();
        app.MapAdminEndpoints();
        app.MapRelayEndpoints();
        return app;
    }
}
