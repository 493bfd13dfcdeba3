using System.Buffers;
using System.ComponentModel;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Json;
using Keeptrusts.Providers.Logging;
using Keeptrusts.Providers.OpenAICompatible;
using Keeptrusts.Providers.Streaming;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.Providers.Exec;

/// <summary>
/// Runs a local command per request (<c>exec:command args</c>, or an adapter family's <c>adapter_command</c>), without a
/// shell. The request JSON (model set) goes to stdin; stdout is the answer: one JSON object, or for streamed requests
/// SSE <c>data:</c> lines (a single JSON object is accepted too and cut into chunks). A non-zero exit answers 502 with
/// the exit code and the start of stderr; the attempt timeout kills the whole process tree.
/// </summary>
internal sealed class ExecProviderClient : IProviderClient
{
    private readonly string _targetId;
    private readonly string _provider;
    private readonly string _program;
    private readonly IReadOnlyList<string> _arguments;
    private readonly string _workingDirectory;
    private readonly TimeProvider _time;
    private readonly int _maxResponseBytes;
    private readonly ILogger _logger;

    private ExecProviderClient(string targetId, string provider, string program, IReadOnlyList<string> arguments, string workingDirectory, TimeProvider time, int maxResponseBytes, ILogger logger)
    {
        _targetId = targetId;
        _provider = provider;
        _program = program;
        _arguments = arguments;
        _workingDirectory = workingDirectory;
        _time = time;
        _maxResponseBytes = maxResponseBytes;
        _logger = logger;
    }

    public string Program => _program;

    public IReadOnlyList<string> Arguments => _arguments;

    /// <summary>Parses the command line. Throws <see cref="ProviderConfigurationException"/> when it cannot be run.</summary>
    public static ExecProviderClient Create(string targetId, string provider, string commandLine, string source, string workingDirectory, TimeProvider time, int maxResponseBytes, ILogger logger)
    {
        // The command line is not quoted back: it may carry arguments its author considers private.
        var words = CommandLine.Split(commandLine, out var problem)
            ?? throw new ProviderConfigurationException(targetId, $"target '{targetId}' has a {source} command that cannot be run: {problem}");
        var program = words[0].Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(words[0])
            ? Path.GetFullPath(Path.Combine(workingDirectory, words[0]))
            : words[0];
        return new ExecProviderClient(targetId, provider, program, words.Skip(1).ToArray(), workingDirectory, time, maxResponseBytes, logger);
    }

    public async ValueTask<ProviderResponse> SendAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        byte[] input;
        try
        {
            input = ModelRewriter.Rewrite(request.Body.Span, request.Model);
        }
        catch (JsonException)
        {
            return OpenAIErrorJson.Response(400, "the request body is not a valid JSON object", "invalid_request_error", "invalid_request_body");
        }

        var timer = AttemptTimeout.Start(request.Timeout, _time);
        ExecRun run;
        try
        {
            run = ExecRun.Start(_program, _arguments, _workingDirectory, Environment(request), input);
        }
        catch (Exception ex) when (ex is Win32Exception or IOException or InvalidOperationException)
        {
            timer.Dispose();
            throw new ProviderException(ProviderFailureKind.ConnectionRefused, _targetId, $"target '{_targetId}': the local command '{_program}' could not be started: {ex.Message}", ex);
        }

        if (request.Stream)
        {
            var chunks = new ChunkStream(_targetId, request.Timeout, timer, token => ReadStreamAsync(run, request, token), run);
            return await chunks.StartAsync(200, null, cancellationToken).ConfigureAwait(false);
        }

        await using (run.ConfigureAwait(false))
        {
            using (timer)
            {
                return await RunToEndAsync(run, request, timer, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public ValueTask<bool> ProbeAsync(string path, CancellationToken cancellationToken) => ValueTask.FromResult(CanFind(_program));

    private async Task<ProviderResponse> RunToEndAsync(ExecRun run, ProviderRequest request, CancellationTokenSource timer, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        using var kill = linked.Token.UnsafeRegister(static state => ((ExecRun)state!).KillTree(), run);
        ReadOnlyMemory<byte> output;
        int exitCode;
        try
        {
            output = await BoundedRead.ReadAsync(run.Stdout, _maxResponseBytes, 16 * 1024, linked.Token).ConfigureAwait(false);
            exitCode = await run.WaitForExitAsync(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (timer.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            throw new ProviderException(ProviderFailureKind.Timeout, _targetId, $"target '{_targetId}': the local command did not finish within {AttemptTimeout.Describe(request.Timeout)}; its process tree was stopped", ex);
        }
        catch (BodyTooLargeException ex)
        {
            run.KillTree();
            throw new ProviderException(ProviderFailureKind.InvalidResponse, _targetId, $"target '{_targetId}': the local command wrote {ex.Message}", ex);
        }
        catch (IOException ex)
        {
            throw new ProviderException(ProviderFailureKind.ConnectionReset, _targetId, $"target '{_targetId}': the local command's output broke off", ex);
        }

        if (exitCode != 0)
        {
            return await FailedAsync(run, exitCode, linked.Token).ConfigureAwait(false);
        }

        try
        {
            OpenAIChunks.Inspect(output.Span);
        }
        catch (Exception ex) when (ex is JsonException or InvalidUpstreamResponseException)
        {
            throw new ProviderException(ProviderFailureKind.InvalidResponse, _targetId, $"target '{_targetId}': the local command's output is not a JSON object", ex);
        }

        return new ProviderResponse(200, output);
    }

    private async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadStreamAsync(ExecRun run, ProviderRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pipe = PipeReader.Create(run.Stdout, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            var first = await FirstByteAsync(pipe, cancellationToken).ConfigureAwait(false);
            if (first is null)
            {
                await ThrowIfFailedAsync(run, cancellationToken).ConfigureAwait(false);
                throw new InvalidUpstreamResponseException("the local command wrote nothing");
            }

            if (first == (byte)'{')
            {
                var output = await ReadAllAsync(pipe, cancellationToken).ConfigureAwait(false);
                await ThrowIfFailedAsync(run, cancellationToken).ConfigureAwait(false);
                OpenAIChunks.Inspect(output.Span);
                foreach (var chunk in CompletionChunker.Chunk(output, ChatRequestFlags.Read(request.Body.Span).IncludeUsage, request.Model, _time))
                {
                    yield return chunk;
                }

                yield break;
            }

            var events = new SseReader(pipe, _maxResponseBytes);
            while (await events.ReadAsync(cancellationToken).ConfigureAwait(false) is { } evt)
            {
                if (evt.IsDone)
                {
                    // The answer is complete; the process is stopped when the response is released.
                    yield break;
                }

                if (evt.Data.IsEmpty)
                {
                    continue;
                }

                if (OpenAIChunks.Inspect(evt.Data.Span).Error is { } error)
                {
                    throw new UpstreamStreamErrorException(error.Status, evt.Data.ToArray(), $"the local command reported an error: {error.Message}");
                }

                yield return evt.Data;
            }

            await ThrowIfFailedAsync(run, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task ThrowIfFailedAsync(ExecRun run, CancellationToken cancellationToken)
    {
        var exitCode = await run.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            var failed = await FailedAsync(run, exitCode, cancellationToken).ConfigureAwait(false);
            throw new UpstreamStreamErrorException(failed.StatusCode, failed.Body.ToArray(), $"the local command exited with code {exitCode}");
        }
    }

    private async Task<ProviderResponse> FailedAsync(ExecRun run, int exitCode, CancellationToken cancellationToken)
    {
        ProviderLog.CommandFailed(_logger, _targetId, exitCode);
        var stderr = await run.StderrExcerptAsync(cancellationToken).ConfigureAwait(false);
        var message = stderr.Length == 0
            ? $"the local command of target '{_targetId}' exited with code {exitCode}"
            : $"the local command of target '{_targetId}' exited with code {exitCode}: {stderr}";
        return OpenAIErrorJson.Response(502, message, "server_error", "local_command_failed");
    }

    private static async Task<byte?> FirstByteAsync(PipeReader pipe, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var consumed = buffer.Start;
            foreach (var segment in buffer)
            {
                var index = segment.Span.IndexOfAnyExcept(" \t\r\n"u8);
                if (index >= 0)
                {
                    var at = buffer.GetPosition(index, consumed);
                    pipe.AdvanceTo(at, at);
                    return segment.Span[index];
                }

                consumed = buffer.GetPosition(segment.Length, consumed);
            }

            pipe.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                return null;
            }
        }
    }

    private async Task<ReadOnlyMemory<byte>> ReadAllAsync(PipeReader pipe, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.Length > _maxResponseBytes)
            {
                throw new BodyTooLargeException(_maxResponseBytes);
            }

            if (result.IsCompleted)
            {
                var output = result.Buffer.ToArray();
                pipe.AdvanceTo(result.Buffer.End);
                return output;
            }

            pipe.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private Dictionary<string, string> Environment(ProviderRequest request) => new(StringComparer.Ordinal)
    {
        ["KEEPTRUSTS_TARGET_ID"] = _targetId,
        ["KEEPTRUSTS_PROVIDER"] = _provider,
        ["KEEPTRUSTS_MODEL"] = request.Model,
        ["KEEPTRUSTS_STREAM"] = request.Stream ? "1" : "0",
    };

    private static bool CanFind(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal) || Path.IsPathRooted(program))
        {
            return System.IO.File.Exists(program);
        }

        var path = System.Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(directory => System.IO.File.Exists(Path.Combine(directory, program)));
    }
}
