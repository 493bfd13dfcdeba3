using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Keeptrusts.Policy.Evaluation;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Reporting;

/// <summary>Settings of <see cref="ControlPlaneEventSink"/>.</summary>
internal sealed record EventReportingOptions
{
    /// <summary>The default bound of the spool: 1 GiB.</summary>
    public const long DefaultMaxSpoolBytes = 1L << 30;

    /// <summary>The control plane (<c>KEEPTRUSTS_API_URL</c>); events go to <c>{ApiUrl}/v1/events</c>.</summary>
    public required Uri ApiUrl { get; init; }

    /// <summary>The gateway token (<c>KEEPTRUSTS_GATEWAY_TOKEN</c>), sent as <c>Authorization: Bearer</c>.</summary>
    public string? Token { get; init; }

    /// <summary>The spool's directory (<c>{data dir}/events</c>).</summary>
    public required string SpoolDirectory { get; init; }

    /// <summary>This gateway process (<c>instance_id</c>) for records that do not carry one.</summary>
    public required string InstanceId { get; init; }

    /// <summary>The <c>gateway_version</c> of every event.</summary>
    public required string GatewayVersion { get; init; }

    /// <summary>The most bytes the spool holds; past it the oldest segment is dropped (and counted). Default 1 GiB.</summary>
    public long MaxSpoolBytes { get; init; } = DefaultMaxSpoolBytes;

    /// <summary>The size at which a new segment file is started. Default 16 MiB.</summary>
    public long SegmentBytes { get; init; } = 16L << 20;

    /// <summary>Records handed from requests to the spool writer; when full, the request writes to the spool itself. Default 10,000.</summary>
    public int QueueCapacity { get; init; } = 10_000;

    /// <summary>The most events in one POST. Default 500.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>About the most bytes of events in one POST. Default 1 MiB.</summary>
    public int MaxBatchBytes { get; init; } = 1 << 20;

    /// <summary>The wait before the second attempt; doubles per attempt up to <see cref="MaxBackoff"/>. Default 500 ms.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between attempts. Default 30 s.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Timeout of one POST. Default 10 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long stopping waits for spooled events to be sent; what is left is sent after the next start. Default 5 s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>The counters of event reporting, as <c>kt doctor</c>, the status endpoint and tests read them.</summary>
internal readonly record struct EventReportingStatus(long InMemory, long Queued, long SpooledBytes, long Sent, long Retried, long Dropped);

/// <summary>
/// Reports decision records to the control plane with no loss short of the spool's size bound:
/// request → bounded in-memory hand-off (never waits) → append-only spool on disk → batched <c>POST /v1/events</c> →
/// acknowledged in the spool. Every record is written to the spool before it is sent, so a restart — even after
/// <c>kill -9</c> — sends what was not acknowledged, in order. Failures (network, timeout, any non-2xx) are retried
/// with exponential backoff (honouring <c>Retry-After</c>) for as long as the gateway runs; an event is lost only when
/// the spool passes its size bound and its oldest segment is deleted, which is logged and counted.
/// </summary>
internal sealed partial class ControlPlaneEventSink : IDecisionSink, IAsyncDisposable
{
    private readonly Channel<(DecisionRecord Record, EventTenant? Tenant)> _queue;
    private readonly EventReportingOptions _options;
    private readonly EventSpool _spool;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Uri _endpoint;
    private readonly Lock _writeGate = new();
    private readonly ArrayBufferWriter<byte> _lines = new(64 * 1024);
    private readonly SemaphoreSlim _written = new(0, int.MaxValue);
    private readonly CancellationTokenSource _stop = new();
    private readonly Meter _meter = new("Keeptrusts.Gateway.Events");
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _writing;
    private readonly Task _sending;
    private int _lineEvents;
    private long _sent;
    private long _retried;
    private long _closedDrops;
    private int _disposed;

    private ControlPlaneEventSink(EventReportingOptions options, EventSpool spool, HttpClient http, TimeProvider time, ILogger logger)
    {
        _options = options;
        _spool = spool;
        _http = http;
        _time = time;
        _logger = logger;
        _endpoint = new Uri(options.ApiUrl.AbsoluteUri.TrimEnd('/') + "/v1/events");
        _queue = Channel.CreateBounded<(DecisionRecord, EventTenant?)>(
            new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        _meter.CreateObservableGauge("keeptrusts.events.queued", () => Status.Queued, "{event}", "Events waiting to be accepted by the control plane (in memory and spooled).");
        _meter.CreateObservableGauge("keeptrusts.events.spooled_bytes", () => Status.SpooledBytes, "By", "Bytes of spooled events not yet accepted.");
        _meter.CreateObservableCounter("keeptrusts.events.sent", () => Sent, "{event}", "Events the control plane accepted.");
        _meter.CreateObservableCounter("keeptrusts.events.retried", () => Interlocked.Read(ref _retried), "{attempt}", "Failed POST attempts that will be retried.");
        _meter.CreateObservableCounter("keeptrusts.events.dropped", () => Dropped, "{event}", "Events lost: deleted with the oldest spool segment at the size bound.");
        _writing = Task.Run(WriteLoopAsync);
        _sending = Task.Run(SendLoopAsync);
    }

    /// <summary>Opens the spool (replaying what a previous run left) and starts reporting. Throws <see cref="IOException"/> when the spool cannot be used.</summary>
    public static ControlPlaneEventSink Start(EventReportingOptions options, HttpClient http, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var spool = EventSpool.Open(options.SpoolDirectory, options.MaxSpoolBytes, options.SegmentBytes, logger);
        if (spool.PendingEvents > 0)
        {
            LogReplaying(logger, spool.PendingEvents, spool.Directory);
        }

        return new ControlPlaneEventSink(options, spool, http, time, logger);
    }

    /// <summary>Events the control plane accepted since start.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Events lost since start (the spool's size bound; records arriving after stop).</summary>
    public long Dropped => _spool.Dropped + Interlocked.Read(ref _closedDrops);

    /// <summary>The counters now.</summary>
    public EventReportingStatus Status
    {
        get
        {
            var inMemory = _queue.Reader.Count;
            return new EventReportingStatus(inMemory, inMemory + _spool.PendingEvents, _spool.PendingBytes, Sent, Interlocked.Read(ref _retried), Dropped);
        }
    }

    public ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken) => Enqueue(record, null);

    /// <summary>A sink that reports records as a hosted tenant's (its key id and team on every event).</summary>
    public IDecisionSink ForTenant(EventTenant tenant) => new TenantSink(this, tenant);

    private ValueTask Enqueue(DecisionRecord record, EventTenant? tenant)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_queue.Writer.TryWrite((record, tenant)))
        {
            return ValueTask.CompletedTask;
        }

        // The hand-off is full (or closed): the request writes to the spool itself, after what was queued before it.
        lock (_writeGate)
        {
            if (Volatile.Read(ref _disposed) != 0 && _writing.IsCompleted)
            {
                Interlocked.Increment(ref _closedDrops);
                LogClosedDrop(_logger);
                return ValueTask.CompletedTask;
            }

            DrainToSpool((record, tenant));
        }

        _written.Release();
        return ValueTask.CompletedTask;
    }

    /// <summary>Writes everything queued (then <paramref name="extra"/>) to the spool. Called under the write gate.</summary>
    private void DrainToSpool((DecisionRecord Record, EventTenant? Tenant)? extra)
    {
        while (true)
        {
            (DecisionRecord Record, EventTenant? Tenant) item;
            if (_queue.Reader.TryRead(out var queued))
            {
                item = queued;
            }
            else if (extra is { } e)
            {
                item = e;
                extra = null;
            }
            else
            {
                break;
            }

            EventFormat.Write(_lines, item.Record, item.Tenant, _options.InstanceId, _options.GatewayVersion);
            _lines.Write("\n"u8);
            _lineEvents++;
            if (_lines.WrittenCount >= Math.Min(256 * 1024, _options.SegmentBytes))
            {
                Flush();
            }
        }

        Flush();

        // Lines stay in the buffer until the spool took them, so a failed write loses nothing.
        void Flush()
        {
            if (_lineEvents > 0)
            {
                _spool.Append(_lines.WrittenSpan, _lineEvents);
            }

            _lines.ResetWrittenCount();
            _lineEvents = 0;
        }
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            try
            {
                lock (_writeGate)
                {
                    DrainToSpool(null);
                }
            }
            catch (IOException ex)
            {
                // A full disk: keep the records in the hand-off and try again shortly.
                LogSpoolWriteFailed(_logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), _time).ConfigureAwait(false);
            }

            _written.Release();
        }
    }

    private async Task SendLoopAsync()
    {
        var stop = _stop.Token;
        var backoff = _options.InitialBackoff;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var batch = _spool.Read(_options.BatchSize, _options.MaxBatchBytes);
                if (batch is null)
                {
                    if (Volatile.Read(ref _disposed) != 0 && _writing.IsCompleted)
                    {
                        _drained.TrySetResult();
                        return;
                    }

                    await _written.WaitAsync(TimeSpan.FromSeconds(1), stop).ConfigureAwait(false);
                    continue;
                }

                var (retryAfter, reason) = await PostAsync(batch.Body, stop).ConfigureAwait(false);
                if (reason is null)
                {
                    _spool.Acknowledge(batch);
                    Interlocked.Add(ref _sent, batch.Count);
                    backoff = _options.InitialBackoff;
                    continue;
                }

                Interlocked.Increment(ref _retried);
                var wait = retryAfter is { } ra && ra > backoff ? TimeSpan.FromTicks(Math.Min(ra.Ticks, _options.MaxBackoff.Ticks)) : backoff;
                LogBatchRetry(_logger, batch.Count, reason, wait.TotalMilliseconds, _spool.PendingEvents);
                await Task.Delay(wait, _time, stop).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private async Task<(TimeSpan? RetryAfter, string? Reason)> PostAsync(byte[] body, CancellationToken stop)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
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
                return (null, null);
            }

            var status = (int)response.StatusCode;
            var retryAfter = response.Headers.RetryAfter?.Delta;
            return (retryAfter, status is 401 or 403 ? $"HTTP {status}: the gateway token is refused (it needs events:write)" : $"HTTP {status}");
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
            return (null, "timed out");
        }
        catch (HttpRequestException ex)
        {
            return (null, ex.HttpRequestError.ToString());
        }
    }

    /// <summary>
    /// Stops: every queued record is written to the spool, then sending goes on for up to the drain timeout; what is
    /// still spooled after that is sent by the next start.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        await _writing.ConfigureAwait(false);
        _written.Release();
        try
        {
            await _drained.Task.WaitAsync(_options.DrainTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Left in the spool for the next start.
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _sending.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_spool.PendingEvents > 0)
        {
            LogLeftInSpool(_logger, _spool.PendingEvents, _spool.Directory);
        }

        lock (_writeGate)
        {
            _spool.Dispose();
        }

        _meter.Dispose();
        _stop.Dispose();
        _written.Dispose();
    }

    private sealed class TenantSink(ControlPlaneEventSink owner, EventTenant tenant) : IDecisionSink
    {
        public ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken) => owner.Enqueue(record, tenant);
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Event reporting: {Count} events not accepted ({Reason}); retrying in {DelayMs} ms ({Pending} waiting in the spool)")]
    private static partial void LogBatchRetry(ILogger logger, int count, string reason, double delayMs, long pending);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Event reporting: a decision record arrived after the reporter stopped and was not reported")]
    private static partial void LogClosedDrop(ILogger logger);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Event reporting: {Pending} events stay in the spool {Directory} and are sent after the next start")]
    private static partial void LogLeftInSpool(ILogger logger, long pending, string directory);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Event reporting: replaying {Pending} events left in the spool {Directory}")]
    private static partial void LogReplaying(ILogger logger, long pending, string directory);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Error, Message = "Event reporting: writing to the spool failed ({Reason}); retrying")]
    private static partial void LogSpoolWriteFailed(ILogger logger, string reason);
}
