// The Keeptrusts control-plane emulator: the gateway-facing API of the control plane, in memory.
//   dotnet run --project samples/control-plane-emulator -- --urls http://127.0.0.1:8080 --seed seed.yaml
// Endpoints are mapped in EmulatorApp.Build, one extension method per area; tests start the same app in-process
// with EmulatorHost.StartAsync.
using Keeptrusts.ControlPlaneEmulator;

var app = EmulatorApp.Build(args);
await app.RunAsync();
