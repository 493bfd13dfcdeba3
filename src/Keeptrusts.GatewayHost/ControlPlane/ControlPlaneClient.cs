using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Keeptrusts.GatewayHost.ControlPlane;

/// <summary>What one call to the control plane came to: a JSON answer, or a failure described in one line.</summary>
/// <param name="Status">The HTTP status, or 0 when there was no answer.</param>
/// <param name="Json">The parsed answer of a 2xx (and of 4xx/5xx when it was JSON); null otherwise.</param>
/// <param name="Failure">Why the call failed, in one line without secrets; null on success.</param>
/// <param name="RetryAfter">The <c>Retry-After</c> of the answer, if any.</param>
internal sealed record ControlPlaneAnswer(int Status, JsonDocument? Json, string? Failure, TimeSpan? RetryAfter = null) : IDisposable
{
    public bool Ok => Failure is null;

    /// <summary>Whether trying again may help: no answer, 408, 429 or 5xx.</summary>
    public bool Transient => Status is 0 or 408 or 429 || Status >= 500;

    /// <summary>A 2xx whose body could not be used: not JSON, or over 1 MiB.</summary>
    public bool Malformed => Status is >= 200 and < 300 && Failure is not null;

    public void Dispose() => Json?.Dispose();
}

/// <summary>
/// The gateway's side of the control-plane contract (docs/control-plane.md): <c>Authorization: Bearer</c> with the
/// gateway token, JSON in and out, answers bounded to 1 MiB and parsed before anyone sees them. Failures are values
/// (<see cref="ControlPlaneAnswer.Failure"/>), never exceptions, and never carry the token or a resolved value.
/// </summary>
internal sealed class ControlPlaneClient(HttpClient http, Uri apiUrl, string? token)
{
    /// <summary>The largest answer read; a longer one is a failure.</summary>
    public const int MaxAnswerBytes = 1024 * 1024;

    private readonly string _base = apiUrl.AbsoluteUri.TrimEnd('/');

    public Uri ApiUrl { get; } = apiUrl;

    public Task<ControlPlaneAnswer> PostAsync(string path, object body, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, path, JsonSerializer.SerializeToUtf8Bytes(body), timeout, cancellationToken);

    public Task<ControlPlaneAnswer> GetAsync(string pathAndQuery, TimeSpan timeout, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, pathAndQuery, null, timeout, cancellationToken);

    private async Task<ControlPlaneAnswer> SendAsync(HttpMethod method, string path, byte[]? body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var request = new HttpRequestMessage(method, _base + path);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }

            if (token is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var retryAfter = response.Headers.RetryAfter?.Delta;
            if (response.Content.Headers.ContentLength is > MaxAnswerBytes)
            {
                return new ControlPlaneAnswer(status, null, $"{Describe(method, path)}: the answer is larger than 1 MiB", retryAfter);
            }

            var bytes = await ReadBoundedAsync(response, deadline.Token).ConfigureAwait(false);
            if (bytes is null)
            {
                return new ControlPlaneAnswer(status, null, $"{Describe(method, path)}: the answer is larger than 1 MiB", retryAfter);
            }

            JsonDocument? json = null;
            try
            {
                json = bytes.Length == 0 ? null : JsonDocument.Parse(bytes);
            }
            catch (JsonException)
            {
                if (response.IsSuccessStatusCode)
                {
                    return new ControlPlaneAnswer(status, null, $"{Describe(method, path)}: the answer is not valid JSON", retryAfter);
                }
            }

            if (response.IsSuccessStatusCode)
            {
                return new ControlPlaneAnswer(status, json, null, retryAfter);
            }

            return new ControlPlaneAnswer(status, json, $"{Describe(method, path)}: HTTP {status}{(status == (int)HttpStatusCode.Unauthorized ? " (the gateway token is missing or unknown)" : string.Empty)}", retryAfter);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ControlPlaneAnswer(0, null, $"{Describe(method, path)}: no answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException ex)
        {
            return new ControlPlaneAnswer(0, null, $"{Describe(method, path)}: {Reason(ex)}");
        }
    }

    private static async Task<byte[]?> ReadBoundedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxAnswerBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    private string Describe(HttpMethod method, string path) => $"{method} {ApiUrl.GetLeftPart(UriPartial.Authority)}{QuerylessPath(path)}";

    private static string QuerylessPath(string path) => path.Split('?')[0];

    private static string Reason(HttpRequestException ex) => ex.HttpRequestError switch
    {
        HttpRequestError.ConnectionError => "connection refused or unreachable",
        HttpRequestError.NameResolutionError => "the host name does not resolve",
        HttpRequestError.SecureConnectionError => "the TLS handshake failed",
        _ => ex.HttpRequestError.ToString(),
    };

    /// <summary>A JSON string property, or null when absent or not a string.</summary>
    public static string? String(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    internal static string Quote(string text) => Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(text));
}
