using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Json;

namespace Keeptrusts.Providers.Unavailable;

/// <summary>A target that is accepted in configuration but cannot be served as configured: every request answers 501.</summary>
internal sealed class UnavailableProviderClient(string message, string code) : IProviderClient
{
    public string Message { get; } = message;

    public ValueTask<ProviderResponse> SendAsync(ProviderRequest request, CancellationToken cancellationToken)
        => ValueTask.FromResult(OpenAIErrorJson.Response(501, Message, "not_implemented_error", code));

    public ValueTask<bool> ProbeAsync(string path, CancellationToken cancellationToken) => ValueTask.FromResult(false);
}
