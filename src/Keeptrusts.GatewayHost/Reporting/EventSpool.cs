using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Keeptrusts.GatewayHost.Reporting;

/// <summary>A place in the spool: a segment's number and a byte offset in it. Ordered by segment, then offset.</summary>
internal readonly record struct SpoolPosition(long Segment, long Offset) : IComparable<SpoolPosition>
{
    public int CompareTo(SpoolPosition other) =>
        Segment != other.Segment ? Segment.CompareTo(other.Segment) : Offset.CompareTo(other.Offset);

    public static bool operator <(SpoolPosition left, SpoolPosition right) => left.CompareTo(right) < 0;

    public static bool operator >(SpoolPosition left, SpoolPosition right) => left.CompareTo(right) > 0;

    public static bool operator <=(SpoolPosition left, SpoolPosition right) => left.CompareTo(right) <= 0;

    public static bool operator >=(SpoolPosition left, SpoolPosition right) => left.CompareTo(right) >= 0;
}

/// <summary>Events read from the spool, ready to send: the request body and where the spool continues after them.</summary>
internal sealed record SpoolBatch(byte[] Body, int Count, SpoolPosition End);

/// <summary>
/// The durable event queue: append-only segment files (<c>events-000000000001.jsonl</c>, one event per line) under a
/// directory, and a <c>cursor</c> file that says how far the control plane has acknowledged. Appends are written
/// straight to the operating system (no buffer in this process), so a killed process loses nothing it appended; a
/// torn last line (a kill in the middle of a write) is cut off when the spool is opened again. The total size is
/// bounded: past <c>maxBytes</c> the oldest segment is deleted and its unsent events are counted as dropped — the only
/// way an event is lost. One process at a time: a lock file refuses a second gateway on the same directory.
/// Thread-safe: one writer and one reader may work at the same time.
/// </summary>
internal sealed partial class EventSpool : IDisposable
{
    private const string SegmentPrefix = "events-";
    private const string SegmentSuffix = ".jsonl";
    private const string CursorFile = "cursor";
    private const string LockFile = ".lock";

    private readonly string _directory;
    private readonly long _maxBytes;
    private readonly long _segmentBytes;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, long> _segments = [];
    private readonly FileStream _lock;
    private FileStream _writer;
    private long _writerSegment;
    private SpoolPosition _cursor;
    private long _totalBytes;
    private long _pendingEvents;
    private long _dropped;
    private bool _disposed;

    private EventSpool(string directory, long maxBytes, long segmentBytes, ILogger logger, FileStream lockFile)
    {
        _directory = directory;
        _maxBytes = maxBytes;
        _segmentBytes = segmentBytes;
        _logger = logger;
        _lock = lockFile;
        _writer = null!;
    }

    /// <summary>The directory of the segment files.</summary>
    public string Directory => _directory;

    /// <summary>Events appended and not yet acknowledged (nor dropped).</summary>
    public long PendingEvents => Interlocked.Read(ref _pendingEvents);

    /// <summary>Bytes of events appended and not yet acknowledged.</summary>
    public long PendingBytes
    {
        get
        {
            lock (_gate)
            {
                return _totalBytes - _cursor.Offset;
            }
        }
    }

    /// <summary>Events deleted unsent because the spool reached its size bound.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>
    /// Opens (or creates) the spool in <paramref name="directory"/>. Throws <see cref="IOException"/> when another
    /// process holds it or it cannot be written.
    /// </summary>
    public static EventSpool Open(string directory, long maxBytes, long segmentBytes, ILogger logger)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentBytes, 1);
        System.IO.Directory.CreateDirectory(directory);
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(directory, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"the event spool {directory} is in use by another gateway process; give each gateway its own --data-dir", ex);
        }

        var spool = new EventSpool(directory, maxBytes, segmentBytes, logger, lockFile);
        try
        {
            spool.Recover();
        }
        catch
        {
            spool.Dispose();
            throw;
        }

        return spool;
    }

    private void Recover()
    {
        foreach (var path in System.IO.Directory.EnumerateFiles(_directory, SegmentPrefix + "*" + SegmentSuffix))
        {
            var name = Path.GetFileName(path);
            if (long.TryParse(name.AsSpan(SegmentPrefix.Length, name.Length - SegmentPrefix.Length - SegmentSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                _segments[number] = new FileInfo(path).Length;
            }
        }

        _cursor = ReadCursor() ?? new SpoolPosition(_segments.Count > 0 ? _segments.Keys.First() : 1, 0);
        foreach (var acknowledged in _segments.Keys.Where(n => n < _cursor.Segment).ToList())
        {
            DeleteSegment(acknowledged);
        }

        if (_segments.Count > 0 && !_segments.ContainsKey(_cursor.Segment))
        {
            _cursor = new SpoolPosition(_segments.Keys.First(), 0);
        }

        // A kill in the middle of an append can leave a partial last line: cut it off so every line is whole.
        if (_segments.Count > 0)
        {
            var last = _segments.Keys.Last();
            var whole = WholeLength(SegmentPath(last), _segments[last]);
            if (whole < _segments[last])
            {
                using (var file = new FileStream(SegmentPath(last), FileMode.Open, FileAccess.Write, FileShare.Read))
                {
                    file.SetLength(whole);
                }

                LogTornTail(_logger, _segments[last] - whole, SegmentPath(last));
                _segments[last] = whole;
            }
        }

        if (_segments.TryGetValue(_cursor.Segment, out var cursorSize) && _cursor.Offset > cursorSize)
        {
            _cursor = _cursor with { Offset = cursorSize };
        }

        _writerSegment = _segments.Count > 0 ? _segments.Keys.Last() : _cursor.Segment;
        _segments.TryAdd(_writerSegment, 0);
        _writer = OpenWriter(_writerSegment);
        _totalBytes = _segments.Values.Sum();
        _pendingEvents = CountEvents(_cursor);
    }

    /// <summary>
    /// Appends whole lines (each ending in <c>\n</c>) holding <paramref name="events"/> events, in one write, then
    /// enforces the size bound.
    /// </summary>
    public void Append(ReadOnlySpan<byte> lines, int events)
    {
        if (lines.IsEmpty)
        {
            return;
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // A full segment, or one that must become droppable to keep the bound: start the next one.
            var current = _segments[_writerSegment];
            if (current >= _segmentBytes || (current > 0 && _totalBytes + lines.Length > _maxBytes))
            {
                _writer.Dispose();
                _writerSegment++;
                _segments[_writerSegment] = 0;
                _writer = OpenWriter(_writerSegment);
            }

            while (_totalBytes + lines.Length > _maxBytes && _segments.Count > 1)
            {
                DropOldest();
            }

            _writer.Write(lines);
            _segments[_writerSegment] += lines.Length;
            _totalBytes += lines.Length;
            Interlocked.Add(ref _pendingEvents, events);
        }
    }

    /// <summary>
    /// Reads up to <paramref name="maxEvents"/> events (about <paramref name="maxBytes"/> at most) from the
    /// acknowledged position, as a <c>{"events":[...]}</c> body; null when nothing is waiting.
    /// </summary>
    public SpoolBatch? Read(int maxEvents, int maxBytes)
    {
        while (true)
        {
            SpoolPosition start;
            long size;
            bool finished;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                start = _cursor;
                size = _segments.GetValueOrDefault(start.Segment);
                finished = start.Segment < _writerSegment;
                if (start.Offset >= size)
                {
                    if (!finished)
                    {
                        return null;
                    }

                    // The segment is done and fully sent: go on with the next one.
                    MoveCursor(new SpoolPosition(_segments.Keys.FirstOrDefault(n => n > start.Segment, _writerSegment), 0));
                    continue;
                }
            }

            var batch = ReadFrom(start, size, maxEvents, maxBytes);
            if (batch is not null)
            {
                return batch;
            }

            lock (_gate)
            {
                // The segment was deleted under us (the size bound): start again from the moved cursor.
                if (_cursor == start)
                {
                    return null;
                }
            }
        }
    }

    /// <summary>Records that the control plane accepted the batch: the spool continues after it.</summary>
    public void Acknowledge(SpoolBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_gate)
        {
            if (_disposed || batch.End <= _cursor)
            {
                // Dropped by the size bound while in flight: the cursor has already moved past.
                return;
            }

            Interlocked.Add(ref _pendingEvents, -batch.Count);
            MoveCursor(batch.End);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _writer?.Dispose();
            _lock.Dispose();
        }
    }

    private SpoolBatch? ReadFrom(SpoolPosition start, long size, int maxEvents, int maxBytes)
    {
        FileStream file;
        try
        {
            file = new FileStream(SegmentPath(start.Segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        using (file)
        {
            var window = (int)Math.Min(size - start.Offset, Math.Max(maxBytes, 4096));
            while (true)
            {
                var buffer = new byte[window];
                file.Position = start.Offset;
                file.ReadExactly(buffer);
                var body = new MemoryStream(window + 16);
                body.Write("{\"events\":["u8);
                var count = 0;
                var consumed = 0;
                var span = buffer.AsSpan();
                while (count < maxEvents)
                {
                    var newline = span[consumed..].IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        break;
                    }

                    var line = span.Slice(consumed, newline);
                    consumed += newline + 1;
                    if (line.IsEmpty)
                    {
                        continue;
                    }

                    if (count > 0)
                    {
                        body.WriteByte((byte)',');
                    }

                    body.Write(line);
                    count++;
                }

                if (consumed == 0 && window < size - start.Offset)
                {
                    // One event longer than the window: read a bigger one.
                    window = (int)Math.Min(size - start.Offset, (long)window * 2);
                    continue;
                }

                if (consumed == 0)
                {
                    return null;
                }

                body.Write("]}"u8);
                return new SpoolBatch(body.ToArray(), count, start with { Offset = start.Offset + consumed });
            }
        }
    }

    private void MoveCursor(SpoolPosition position)
    {
        _cursor = position;
        foreach (var done in _segments.Keys.Where(n => n < position.Segment).ToList())
        {
            DeleteSegment(done);
        }

        var temp = Path.Combine(_directory, CursorFile + ".tmp");
        File.WriteAllText(temp, string.Create(CultureInfo.InvariantCulture, $"{position.Segment} {position.Offset}\n"));
        File.Move(temp, Path.Combine(_directory, CursorFile), overwrite: true);
    }

    private void DropOldest()
    {
        var oldest = _segments.Keys.First();
        var from = _cursor.Segment == oldest ? _cursor.Offset : 0;
        var lost = _cursor.Segment <= oldest ? CountLines(SegmentPath(oldest), from, _segments[oldest]) : 0;
        DeleteSegment(oldest);
        if (_cursor.Segment <= oldest)
        {
            MoveCursor(new SpoolPosition(_segments.Keys.First(), 0));
        }

        Interlocked.Add(ref _dropped, lost);
        Interlocked.Add(ref _pendingEvents, -lost);
        LogSegmentDropped(_logger, lost, _maxBytes);
    }

    private void DeleteSegment(long number)
    {
        if (_segments.Remove(number, out var size))
        {
            _totalBytes -= size;
        }

        File.Delete(SegmentPath(number));
    }

    private SpoolPosition? ReadCursor()
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(_directory, CursorFile)).Trim();
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0
                && long.TryParse(text.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
                && long.TryParse(text.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                return new SpoolPosition(segment, offset);
            }
        }
        catch (FileNotFoundException)
        {
        }

        return null;
    }

    private long CountEvents(SpoolPosition from)
    {
        long count = 0;
        foreach (var (number, size) in _segments)
        {
            if (number >= from.Segment)
            {
                count += CountLines(SegmentPath(number), number == from.Segment ? from.Offset : 0, size);
            }
        }

        return count;
    }

    private static long CountLines(string path, long from, long to)
    {
        if (to <= from)
        {
            return 0;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        file.Position = from;
        var buffer = new byte[64 * 1024];
        long count = 0;
        var left = to - from;
        while (left > 0)
        {
            var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read <= 0)
            {
                break;
            }

            count += buffer.AsSpan(0, read).Count((byte)'\n');
            left -= read;
        }

        return count;
    }

    /// <summary>The length of the file up to and including its last line break.</summary>
    private static long WholeLength(string path, long size)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[64 * 1024];
        var end = size;
        while (end > 0)
        {
            var start = Math.Max(0, end - buffer.Length);
            file.Position = start;
            var span = buffer.AsSpan(0, (int)(end - start));
            file.ReadExactly(span);
            var newline = span.LastIndexOf((byte)'\n');
            if (newline >= 0)
            {
                return start + newline + 1;
            }

            end = start;
        }

        return 0;
    }

    private FileStream OpenWriter(long number) =>
        new(SegmentPath(number), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    private string SegmentPath(long number) =>
        Path.Combine(_directory, SegmentPrefix + number.ToString("D12", CultureInfo.InvariantCulture) + SegmentSuffix);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Event spool: cut off {Bytes} bytes of an incomplete event at the end of {Path} (the process stopped in the middle of a write)")]
    private static partial void LogTornTail(ILogger logger, long bytes, string path);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error, Message = "Event spool: reached its size bound of {MaxBytes} bytes; deleted the oldest segment and {Count} unsent events with it")]
    private static partial void LogSegmentDropped(ILogger logger, long count, long maxBytes);
}
