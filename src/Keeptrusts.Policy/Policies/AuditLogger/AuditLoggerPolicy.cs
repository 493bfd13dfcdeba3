using System.Buffers;
using System.Threading.Channels;
using Keeptrusts.Policy.Evaluation;

namespace Keeptrusts.Policy.Policies.AuditLogger;

/// <summary>
/// Appends decision records to daily JSON Lines files. The request path only enqueues; one background writer
/// serializes, appends each line with a single write, and syncs to disk after every batch. Dispose it to flush and
/// close the file.
/// </summary>
internal sealed class AuditLoggerPolicy : IChainPolicy, IDecisionSink, IAsyncDisposable
{
    /// <summary>
    /// Enough for bursts far above any sustained rate a disk keeps up with; when full, callers wait (cancellably)
    /// rather than lose a record.
    /// </summary>
    internal const int QueueCapacity = 8192;

    private readonly AuditLoggerOptions _options;
    private readonly TimeProvider _time;
    private readonly AuditFiles _files;
    private readonly Channel<Item> _queue;
    private readonly Task _writer;
    private readonly ArrayBufferWriter<byte> _line = new(1024);
    private readonly Task? _startAfter;

    // Owned by the writer task only.
    private FileStream? _stream;
    private DateOnly? _currentDate;
    private string? _lastDigest;
    private string? _prevFileDigest;
    private bool _dirty;

    private long _written;
    private long _lost;
    private int _disposed;

    public AuditLoggerPolicy(AuditLoggerOptions options, TimeProvider time, Task? startAfter = null)
    {
        _options = options;
        _time = time;
        _startAfter = startAfter;
        _files = new AuditFiles(options.Path);
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            AllowSynchronousContinuations = false,
        });
        _writer = Task.Run(RunAsync);
    }

    public string Id => PolicyCatalog.AuditLogger;

    /// <summary>Records written to disk so far.</summary>
    internal long WrittenRecords => Interlocked.Read(ref _written);

    /// <summary>Records that could not be written (the disk failed twice in a row for them).</summary>
    internal long LostRecords => Interlocked.Read(ref _lost);

    /// <summary>The last write failure, by exception type only (messages may name paths; never texts).</summary>
    internal string? LastFailure { get; private set; }

    /// <summary>The audit logger never evaluates texts: it only receives the records of the chain.</summary>
    public bool AppliesTo(PolicyPhase phase) => false;

    public ValueTask<PolicyVerdict> EvaluateAsync(PolicyContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(PolicyVerdict.Allowed);

    /// <summary>Whether a record is written under the current settings.</summary>
    internal bool Accepts(DecisionRecord record) => _options.LogAllAccess || record.Decision != PolicyDecision.Allow;

    public ValueTask WriteAsync(DecisionRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!Accepts(record))
        {
            return ValueTask.CompletedTask;
        }

        var item = new Item(record, null);
        return _queue.Writer.TryWrite(item) ? ValueTask.CompletedTask : _queue.Writer.WriteAsync(item, cancellationToken);
    }

    /// <summary>Completes when every record accepted before the call is written and synced to disk.</summary>
    internal async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _queue.Writer.WriteAsync(new Item(null, flushed), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Disposed: everything accepted is written once the writer ends.
            await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await flushed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _queue.Writer.TryComplete();
        }

        await _writer.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        if (_startAfter is { } startAfter)
        {
            // The engine this one replaces may still be writing the same file: wait until it has closed it. Its
            // outcome does not matter here, only that it is over.
            await startAfter.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        }

        Start();
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                if (item.Record is { } record)
                {
                    Append(record);
                }
                else
                {
                    Sync();
                    item.Flushed!.TrySetResult();
                }
            }

            Sync();
        }

        Sync();
        Close();
    }

    private void Start()
    {
        try
        {
            Directory.CreateDirectory(_files.Directory);
            RemoveExpired(DateOnly.FromDateTime(_time.GetUtcNow().UtcDateTime));
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            // The first record retries creating the directory; clean-up runs again at the next rotation.
            LastFailure = ex.GetType().Name;
        }
    }

    private void Append(DecisionRecord record)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                AppendOnce(record);
                Interlocked.Increment(ref _written);
                return;
            }
#pragma warning disable CA1031 // A record the writer cannot serialize must not stop the writer for every later record.
            catch (Exception ex) when (!IsIoFailure(ex))
#pragma warning restore CA1031
            {
                LastFailure = ex.GetType().Name;
                Close();
                break;
            }
            catch (Exception ex) when (IsIoFailure(ex))
            {
                LastFailure = ex.GetType().Name;

                // A failed write may have left part of a line: reopening re-reads the tail, so the chain continues
                // from what is really on disk and the damage shows up in verification rather than being hidden.
                Close();
            }
        }

        Interlocked.Increment(ref _lost);
    }

    private void AppendOnce(DecisionRecord record)
    {
        // A record finished just before midnight may reach the writer after the next day's first record: it goes to
        // the current file rather than reopening yesterday's, so files never interleave.
        var date = DateOnly.FromDateTime(record.Timestamp.UtcDateTime);
        if (_currentDate is { } current && date < current)
        {
            date = current;
        }

        if (_stream is null || date != _currentDate)
        {
            var rotating = _currentDate is not null && date != _currentDate;
            Close();
            Open(date);
            if (rotating)
            {
                RemoveExpired(date);
            }
        }

        _line.ResetWrittenCount();
        string? prevHash = null, prevFileHash = null;
        if (_options.Immutable)
        {
            prevHash = _lastDigest ?? AuditChain.Genesis;
            prevFileHash = _lastDigest is null ? _prevFileDigest : null;
        }

        AuditRecordFormat.Write(_line, record, prevHash, prevFileHash);
        var digest = _options.Immutable ? AuditChain.LineDigest(_line.WrittenSpan) : null;
        _line.Write("\n"u8);

        // One write per line: with an unbuffered stream, a reader (or a crash) never sees half of two lines.
        _stream!.Write(_line.WrittenSpan);
        _dirty = true;
        _lastDigest = digest ?? string.Empty;
    }

    private void Open(DateOnly date)
    {
        Directory.CreateDirectory(_files.Directory);
        var stream = new FileStream(_files.PathFor(date), new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read,
            BufferSize = 0,
        });
        try
        {
            var tail = AuditChain.ReadLastLine(stream);
            _lastDigest = null;
            _prevFileDigest = null;
            if (tail is { } last)
            {
                if (!last.Terminated)
                {
                    // Never rewrite what is there: end the broken line so the next record starts on its own line.
                    stream.Write("\n"u8);
                }

                _lastDigest = AuditChain.LineDigest(last.Line);
            }
            else if (_options.Immutable)
            {
                _prevFileDigest = LastDigestBefore(date);
            }
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        _stream = stream;
        _currentDate = date;
    }

    private string? LastDigestBefore(DateOnly date)
    {
        var previous = _files.Existing().LastOrDefault(f => f.Date < date);
        if (previous.Path is null)
        {
            return null;
        }

        using var stream = new FileStream(previous.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return AuditChain.ReadLastLine(stream) is { } last ? AuditChain.LineDigest(last.Line) : null;
    }

    /// <summary>Deletes dated files older than <c>retention_days</c> before <paramref name="today"/>.</summary>
    private void RemoveExpired(DateOnly today)
    {
        if (_options.RetentionDays is not { } days)
        {
            return;
        }

        var cutoff = today.AddDays(-days);
        foreach (var (date, path) in _files.Existing())
        {
            if (date < cutoff && date != _currentDate)
            {
                try
                {
                    File.Delete(path);
                }
                catch (Exception ex) when (IsIoFailure(ex))
                {
                    LastFailure = ex.GetType().Name;
                }
            }
        }
    }

    private void Sync()
    {
        if (!_dirty || _stream is null)
        {
            return;
        }

        try
        {
            _stream.Flush(flushToDisk: true);
            _dirty = false;
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            LastFailure = ex.GetType().Name;
            Close();
        }
    }

    private void Close()
    {
        var stream = _stream;
        _stream = null;
        _dirty = false;
        if (stream is null)
        {
            return;
        }

        try
        {
            stream.Dispose();
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            LastFailure = ex.GetType().Name;
        }
    }

    private static bool IsIoFailure(Exception ex) => ex is IOException or UnauthorizedAccessException or NotSupportedException;

    /// <summary>A record to write, or a flush marker.</summary>
    private readonly record struct Item(DecisionRecord? Record, TaskCompletionSource? Flushed);
}
