// A minimal ASP.NET Core app that serves the Keeptrusts gateway: OpenAI-compatible endpoints that enforce
// policy-config.yaml, a health endpoint, and (when KEEPTRUSTS_GATEWAY_TOKEN is set) the runtime API.
var builder = WebApplication.CreateBuilder(args);

builder.Services.AddKeeptrustsGateway(options =>
{
    options.ConfigFiles.Add(Path.Combine(AppContext.BaseDirectory, "policy-config.yaml"));
    options.WatchConfigFiles = true;
    options.AdminToken = Environment.GetEnvironmentVariable("KEEPTRUSTS_GATEWAY_TOKEN");
});

var app = builder.Build();
app.MapKeeptrustsGateway();
app.Run();
