using System.Text;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;

namespace Keeptrusts.Providers.Tests.TestSupport;

internal static class Targets
{
    public const string Key = "sk-test-0123456789abcdefSECRET";

    public static ProviderTarget OpenAI(string baseUrl, string id = "openai-primary", SecretKeyRef? secret = null, string? pathTemplate = null)
        => new() { Id = id, Provider = "openai", BaseUrl = baseUrl, SecretKeyRef = secret ?? new SecretKeyRef { Env = "TEST_OPENAI_KEY" }, PathTemplate = pathTemplate };

    public static ProviderClientOptions Options(TimeProvider? time = null, Action<ProviderClientOptions>? configure = null)
    {
        var options = new ProviderClientOptions
        {
            EnvironmentVariableReader = static name => name switch
            {
                "TEST_OPENAI_KEY" or "TEST_ANTHROPIC_KEY" => Key,
                _ => null,
            },
            TimeProvider = time ?? TimeProvider.System,
        };
        configure?.Invoke(options);
        return options;
    }

    public static IProviderClient Client(ProviderTarget target, ProviderClientOptions? options = null)
        => ProviderClientFactory.Create(options ?? Options()).Create(target);

    public static ProviderRequest Request(ProviderTarget target, string body, bool stream = false, string model = "gpt-4o-mini", TimeSpan? timeout = null)
        => new() { Target = target, Model = model, Body = Encoding.UTF8.GetBytes(body), Stream = stream, Timeout = timeout ?? TimeSpan.FromSeconds(20) };

    public static CancellationToken Patience() => new CancellationTokenSource(FakeUpstream.Patience).Token;

    public static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    public static async Task<List<string>> ReadChunksAsync(ProviderResponse response)
    {
        Assert.NotNull(response.Chunks);
        var chunks = new List<string>();
        await foreach (var chunk in response.Chunks.WithCancellation(Patience()))
        {
            chunks.Add(Text(chunk));
        }

        return chunks;
    }
}
