using System.Globalization;
using Polly;

namespace Keeptrusts.Policy.Routing;

/// <summary>
/// One attempt against one target and everything it holds: its concurrency slot, its timeout, the upstream response
/// and, for a stream, the enumerator with the first chunk already pulled. A failed attempt is disposed at once; a
/// committed one becomes the owner of the response handed to the caller and is disposed with it.
/// </summary>
internal sealed class AttemptScope : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _callerToken;
    private readonly CancellationToken _requestToken;
    private readonly ConcurrencyGate.Lease _lease;
    private readonly TimeProvider _time;
    private readonly ProviderRequest _request;
    private readonly Action<TargetRuntime>? _onReleased;
    private readonly CancellationTokenRegistration _requestLink;
    private readonly CancellationTokenRegistration _callerLink;
    private CancellationTokenRegistration _enumeratorLink;
    private int _disposed;

    public AttemptScope(
        RouteCandidate candidate,
        ReadOnlyMemory<byte> body,
        bool stream,
        TimeSpan timeout,
        ConcurrencyGate.Lease lease,
        TimeProvider time,
        CancellationToken requestToken,
        CancellationToken callerToken,
        Action<TargetRuntime>? onReleased)
    {
        Target = candidate.Target;
        Model = candidate.Model;
        Stream = stream;
        Timeout = timeout;
        _lease = lease;
        _time = time;
        _requestToken = requestToken;
        _callerToken = callerToken;
        _onReleased = onReleased;
        _cts = new CancellationTokenSource(timeout, time);
        _requestLink = requestToken.UnsafeRegister(static s => ((AttemptScope)s!).CancelQuietly(), this);
        _callerLink = callerToken.UnsafeRegister(static s => ((AttemptScope)s!).CancelQuietly(), this);
        _request = new ProviderRequest { Target = Target.Target, Model = Model, Body = body, Stream = stream, Timeout = timeout };
        Target.EnterFlight();
    }

    public TargetRuntime Target { get; }

    public string Model { get; }

    public bool Stream { get; }

    public TimeSpan Timeout { get; }

    public long Admission => _lease.Admission;

    public AttemptKind Kind { get; set; } = AttemptKind.Cancelled;

    /// <summary>Whether the request's overall deadline, not the attempt's own timeout, cut the attempt short.</summary>
    public bool DeadlinePassed { get; private set; }

    /// <summary>Whether the target answered with an HTTP status (rather than failing in transport).</summary>
    public bool Answered { get; private set; }

    public int? StatusCode { get; private set; }

    public TimeSpan? RetryAfter { get; private set; }

    public TimeSpan Elapsed { get; private set; }

    /// <summary>What happened, for messages: statuses and failure kinds, never upstream text.</summary>
    public string Detail { get; private set; } = string.Empty;

    public ProviderResponse? Response { get; private set; }

    public IAsyncEnumerator<ReadOnlyMemory<byte>>? Enumerator { get; private set; }

    public ReadOnlyMemory<byte> FirstChunk { get; private set; }

    /// <summary>Whether the caller cancelled, as opposed to a timeout or the overall deadline.</summary>
    public bool CallerCancelled => _callerToken.IsCancellationRequested;

    public CancellationToken Token => _cts.Token;

    /// <summary>Sends the attempt and, for a stream, waits for its first chunk. Never throws: the outcome is in <see cref="Kind"/>.</summary>
    public async ValueTask<Outcome<AttemptScope>> RunAsync()
    {
        var started = _time.GetTimestamp();
        try
        {
            var response = await Target.Client.SendAsync(_request, _cts.Token).ConfigureAwait(false);
            Response = response;
            StatusCode = response.StatusCode;
            RetryAfter = response.RetryAfter;
            Kind = AttemptKinds.FromStatus(response.StatusCode);
            Detail = "answered " + response.StatusCode.ToString(CultureInfo.InvariantCulture);
            if (Kind == AttemptKind.Ok && Stream && response.Chunks is { } chunks)
            {
                Enumerator = chunks.GetAsyncEnumerator(_cts.Token);
                if (await Enumerator.MoveNextAsync().ConfigureAwait(false))
                {
                    FirstChunk = Enumerator.Current;
                }
                else
                {
                    Kind = AttemptKind.InvalidResponse;
                    Detail = "answered a stream that ended before its first chunk";
                }
            }

            Answered = Kind != AttemptKind.InvalidResponse;
        }
        catch (Exception) when (CallerCancelled)
        {
            Kind = AttemptKind.Cancelled;
            Detail = "cancelled by the caller";
        }
        catch (Exception) when (_requestToken.IsCancellationRequested)
        {
            Kind = AttemptKind.Timeout;
            DeadlinePassed = true;
            Detail = "was cut short by the request's overall deadline";
        }
        catch (OperationCanceledException) when (_cts.IsCancellationRequested)
        {
            Kind = AttemptKind.Timeout;
            Detail = TimedOut();
        }
        catch (ProviderException ex)
        {
            Kind = AttemptKinds.FromFailure(ex.Kind);
            Detail = Kind switch
            {
                AttemptKind.ConnectionRefused => "refused the connection",
                AttemptKind.Timeout => TimedOut(),
                AttemptKind.InvalidResponse => "answered with an invalid response",
                _ => "reset the connection",
            };
        }
#pragma warning disable CA1031 // An adapter bug must not take the request down: it counts as a server error of that target.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            Kind = AttemptKind.ServerError;
            Detail = "failed unexpectedly (" + ex.GetType().Name + ")";
        }

        Elapsed = _time.GetElapsedTime(started);
        return Outcome.FromResult(this);
    }

    /// <summary>Marks the attempt rejected by its breaker before anything was sent.</summary>
    public void Reject()
    {
        Kind = AttemptKind.Rejected;
        Detail = "skipped: its circuit breaker is half-open with a probe in flight";
    }

    /// <summary>
    /// The attempt is the answer: stop its timeout and detach it from the request's deadline; only the caller's
    /// cancellation (and disposal) can end it from now on.
    /// </summary>
    public void Commit()
    {
        _cts.CancelAfter(System.Threading.Timeout.InfiniteTimeSpan);
        _requestLink.Dispose();
    }

    /// <summary>Links the token a caller gives the committed stream's enumerator.</summary>
    public void LinkEnumeration(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled && cancellationToken != _callerToken)
        {
            _enumeratorLink = cancellationToken.UnsafeRegister(static s => ((AttemptScope)s!).CancelQuietly(), this);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _requestLink.Dispose();
            _callerLink.Dispose();
            _enumeratorLink.Dispose();
            if (Enumerator is { } enumerator)
            {
                await DisposeQuietlyAsync(enumerator).ConfigureAwait(false);
            }

            if (Response is { } response)
            {
                await DisposeQuietlyAsync(response).ConfigureAwait(false);
            }
        }
        finally
        {
            _cts.Dispose();
            _lease.Release();
            Target.LeaveFlight();
            _onReleased?.Invoke(Target);
        }
    }

    private string TimedOut() => "timed out after " + ((long)Timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + " ms";

    private void CancelQuietly()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed concurrently: nothing left to cancel.
        }
    }

    private static async ValueTask DisposeQuietlyAsync(IAsyncDisposable disposable)
    {
        try
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Releasing an upstream connection must not fail the caller; the slot is released regardless.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
