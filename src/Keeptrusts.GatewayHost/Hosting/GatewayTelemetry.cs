using Keeptrusts.GatewayHost.Cli;
using Keeptrusts.GatewayHost.Cli.Gateway;
using Keeptrusts.Policy.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Keeptrusts.GatewayHost.Hosting;

/// <summary>
/// Traces and metrics of <c>kt gateway run</c>: Prometheus text at <c>/metrics</c> (on by default, off, or behind
/// the admin token) and, when an OTLP endpoint is set, every span and metric exported there.
/// </summary>
internal static class GatewayTelemetry
{
    public const string MetricsPath = "/metrics";

    // The framework's own instruments beside ours: request rates and durations as the server and the upstream client saw them.
    private static readonly string[] Meters =
        [KeeptrustsTelemetry.MeterNamePrefix + "*", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http"];

    private static readonly string[] Sources = [KeeptrustsTelemetry.ActivitySourceName, "Microsoft.AspNetCore", "System.Net.Http"];

    public static void AddGatewayTelemetry(this WebApplicationBuilder builder, GatewayRunSettings settings)
    {
        var otlp = settings.Otlp;
        if (settings.Metrics == MetricsEndpoint.Off && otlp is null)
        {
            return;
        }

        var telemetry = builder.Services.AddOpenTelemetry();
        if (!settings.ServiceNameFromEnvironment)
        {
            telemetry.ConfigureResource(static resource => resource.AddService("keeptrusts-gateway", serviceVersion: KtVersion.Informational));
        }

        telemetry.WithMetrics(metrics =>
        {
            metrics.AddMeter(Meters);
            if (settings.Metrics != MetricsEndpoint.Off)
            {
                metrics.AddPrometheusExporter();
            }

            if (otlp is not null)
            {
                metrics.AddOtlpExporter((exporter, reader) =>
                {
                    Configure(exporter, otlp, "v1/metrics");
                    reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)otlp.ExportInterval.TotalMilliseconds;
                });
            }
        });

        if (otlp is not null)
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(Sources)
                .AddOtlpExporter(exporter =>
                {
                    Configure(exporter, otlp, "v1/traces");
                    exporter.BatchExportProcessorOptions.ScheduledDelayMilliseconds = (int)otlp.ExportInterval.TotalMilliseconds;
                }));
        }
    }

    public static void MapGatewayTelemetry(this WebApplication app, GatewayRunSettings settings)
    {
        if (settings.Metrics == MetricsEndpoint.Off)
        {
            return;
        }

        var endpoint = app.MapPrometheusScrapingEndpoint(MetricsPath);
        if (settings.Metrics == MetricsEndpoint.Admin)
        {
            // Start-up refuses admin mode without a token, so a refusal here is always a missing or wrong token.
            var token = settings.ApiToken;
            endpoint.AddEndpointFilter(async (context, next) =>
                GatewayEndpoints.RefuseUnlessAuthorized(context.HttpContext, token) is { } refusal ? refusal : await next(context).ConfigureAwait(false));
        }
    }

    private static void Configure(OtlpExporterOptions exporter, OtlpSettings otlp, string signalPath)
    {
        exporter.Protocol = otlp.Protocol;

        // Over HTTP each signal has its own path under the base endpoint; gRPC takes the endpoint as it is.
        exporter.Endpoint = otlp.Protocol == OtlpExportProtocol.HttpProtobuf
            ? new Uri(otlp.Endpoint.ToString().TrimEnd('/') + "/" + signalPath)
            : otlp.Endpoint;
    }
}

/// <summary>Who may read <c>/metrics</c>.</summary>
internal enum MetricsEndpoint
{
    /// <summary>Anyone, like <c>/health</c> (the default).</summary>
    On,

    /// <summary>Not served.</summary>
    Off,

    /// <summary>Callers with the admin token.</summary>
    Admin,
}

/// <summary>Where spans and metrics are exported over OTLP (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL</c>).</summary>
internal sealed record OtlpSettings(Uri Endpoint, OtlpExportProtocol Protocol)
{
    /// <summary>How often metrics are pushed and spans flushed. Not a flag; tests shorten it.</summary>
    public TimeSpan ExportInterval { get; init; } = TimeSpan.FromSeconds(10);
}
