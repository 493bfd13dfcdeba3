using System.Buffers;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Keeptrusts.Policy.Evaluation;
using Keeptrusts.Policy.Policies.AuditLogger;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Reporting;

/// <summary>Settings of <see cref="ControlPlaneEventSink"/>.</summary>
internal sealed record EventReportingOptions
{
    /// <summary>The control plane (<c>KEEPTRUSTS_API_URL</c>); events go to <c>{ApiUrl}/v1/events</c>.</summary>
    public required Uri ApiUrl { get; init; }

    /// <summary>The gateway token (<c>KEEPTRUSTS_GATEWAY_TOKEN</c>), sent as <c>Authorization: Bearer</c>.</summary>
    public string? Token { get; init; }

    /// <summary>Records waiting to be sent; when full, new records are dropped and counted. Default 10,000.</summary>
    public int QueueCapacity { get; init; } = 10_000;

    /// <summary>The most records in one POST. Default 100.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>How long a partial batch waits for more records. Default 1 s.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts per batch before it is dropped (and counted). Default 5.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>The wait before the second attempt; doubles per attempt up to <see cref="MaxBackoff"/>. Default 500 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between attempts. Default 30 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Timeout of one POST. Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long disposal waits for queued records to be sent. Default 5 s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Reports decision records to the control plane: <c>POST {KEEPTRUSTS_API_URL}/v1/events</c> with
/// <c>{"events":[...]}</c>, each event in the audit-log shape (so it carries <c>user_id</c> and
/// <c>identity_proof_method</c>, never evaluated text). Records are queued (bounded; overflow is dropped and
/// counted, never blocks a request), sent in batches, and retried with exponential backoff on 429, 5xx and network
/// failures; other 4xx answers drop the batch. Disposal flushes the queue within a deadline.
/// </summary>
internal sealed partial class ControlPlaneEventSink : IDecisionSink, IAsyncDisposable
{
    private readonly Channel<DecisionRecord> _queue;
    private readonly EventReportingOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Uri _endpoint;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sending;
    private long _sent;
    private long _dropped;
    private long _failedBatches;
    private int _disposed;

    public ControlPlaneEventSink(EventReportingOptions options, HttpClient http, TimeProvider time, ILogger logger)
    {
        _options = options;
        _http = http;
        _time = time;
        _logger = logger;
        _endpoint = new Uri(options.ApiUrl.AbsoluteUri.TrimEnd('/') + "/v1/events");
        _queue = Channel.CreateBounded<DecisionRecord>(
            new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
        _sending = Task.Run(SendLoopAsync);
    }

    /// <summary>Events the control plane accepted.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Events lost: the queue was full, or their batch failed every attempt or was refused.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Batches given up on.</summary>
    public long FailedBatches => Interlocked.Read(ref _failedBatches);

    public ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!_queue.Writer.TryWrite(record))
        {
            // Closed (shutting down): the record cannot be reported any more.
            Interlocked.Increment(ref _dropped);
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        try
        {
            await _sending.WaitAsync(_options.DrainTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await _sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var left = 0L;
        while (_queue.Reader.TryRead(out _))
        {
            left++;
        }

        Interlocked.Add(ref _dropped, left);
        if (Dropped > 0)
        {
            LogDroppedAtShutdown(_logger, Dropped, Sent);
        }

        _stop.Dispose();
    }

    private async Task SendLoopAsync()
    {
        var batch = new List<DecisionRecord>(_options.BatchSize);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                batch.Clear();
                var deadline = _time.GetTimestamp() + (long)(_options.FlushInterval.TotalSeconds * _time.TimestampFrequency);
                while (batch.Count < _options.BatchSize)
                {
                    if (reader.TryRead(out var record))
                    {
                        batch.Add(record);
                        continue;
                    }

                    var wait = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
                    if (wait <= TimeSpan.Zero || reader.Completion.IsCompleted)
                    {
                        break;
                    }

                    using var flush = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    flush.CancelAfter(wait);
                    try
                    {
                        if (!await reader.WaitToReadAsync(flush.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                    {
                        break;
                    }
                }

                if (batch.Count > 0)
                {
                    await SendBatchAsync(batch).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            Interlocked.Add(ref _dropped, batch.Count);
        }
    }

    private async Task SendBatchAsync(List<DecisionRecord> batch)
    {
        var body = Serialize(batch);
        var backoff = _options.InitialBackoff;
        for (var attempt = 1; ; attempt++)
        {
            var (retry, retryAfter, reason) = await PostAsync(body).ConfigureAwait(false);
            if (reason is null)
            {
                Interlocked.Add(ref _sent, batch.Count);
                return;
            }

            if (!retry || attempt >= _options.MaxAttempts)
            {
                Interlocked.Add(ref _dropped, batch.Count);
                Interlocked.Increment(ref _failedBatches);
                LogBatchDropped(_logger, batch.Count, attempt, reason);
                return;
            }

            var wait = retryAfter is { } ra && ra > backoff ? TimeSpan.FromTicks(Math.Min(ra.Ticks, _options.MaxBackoff.Ticks)) : backoff;
            LogBatchRetry(_logger, batch.Count, reason, wait.TotalMilliseconds);
            await Task.Delay(wait, _time, _stop.Token).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
        }
    }

    private async Task<(bool Retry, TimeSpan? RetryAfter, string? Reason)> PostAsync(byte[] body)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (_options.Token is { } token)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return (false, null, null);
            }

            var status = (int)response.StatusCode;
            var retry = status is 408 or 429 || status >= 500;
            var retryAfter = response.Headers.RetryAfter?.Delta;
            return (retry, retryAfter, $"HTTP {status}");
        }
        catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
        {
            return (true, null, "timed out");
        }
        catch (HttpRequestException ex)
        {
            return (true, null, ex.HttpRequestError.ToString());
        }
    }

    private static byte[] Serialize(List<DecisionRecord> batch)
    {
        var buffer = new ArrayBufferWriter<byte>(512 * batch.Count);
        buffer.Write("{\"events\":["u8);
        var line = new ArrayBufferWriter<byte>(512);
        for (var i = 0; i < batch.Count; i++)
        {
            if (i > 0)
            {
                buffer.Write(","u8);
            }

            line.ResetWrittenCount();
            AuditRecordFormat.Write(line, batch[i], null, null);
            buffer.Write(line.WrittenSpan);
        }

        buffer.Write("]}"u8);
        return buffer.WrittenSpan.ToArray();
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Event reporting: {Count} events not accepted ({Reason}); retrying in {DelayMs} ms")]
    private static partial void LogBatchRetry(ILogger logger, int count, string reason, double delayMs);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Event reporting: dropped {Count} events after {Attempts} attempt(s) ({Reason})")]
    private static partial void LogBatchDropped(ILogger logger, int count, int attempts, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Event reporting: {Dropped} events were not reported ({Sent} were)")]
    private static partial void LogDroppedAtShutdown(ILogger logger, long dropped, long sent);
}
