namespace Keeptrusts.ControlPlaneEmulator.Faults;

/// <summary>How the emulator misbehaves.</summary>
public enum FaultMode
{
    /// <summary>Answer normally.</summary>
    None,

    /// <summary>Answer <c>503</c> with <c>Retry-After: 1</c>.</summary>
    Unavailable,

    /// <summary>Accept the request and never answer (until the caller gives up or the fault is cleared).</summary>
    Silent,

    /// <summary>Answer <c>200</c> with a body that is not JSON.</summary>
    Garbage,

    /// <summary>Answer <c>200</c> with a JSON body over 1 MiB.</summary>
    Oversized,
}

/// <summary>
/// The admin fault switch: applies to every control-plane path starting with <see cref="PathPrefix"/> (all of them
/// when null), never to <c>/admin</c>. Thread-safe; clearing it releases requests held by <see cref="FaultMode.Silent"/>.
/// </summary>
public sealed class FaultSwitch
{
    private readonly Lock _gate = new();
    private CancellationTokenSource _cleared = new();

    /// <summary>The current mode.</summary>
    public FaultMode Mode { get; private set; }

    /// <summary>The paths it applies to (prefix), or null for all.</summary>
    public string? PathPrefix { get; private set; }

    /// <summary>Requests the switch answered with a fault.</summary>
    public long Faulted => Interlocked.Read(ref _faulted);

    private long _faulted;

    /// <summary>Sets the mode for paths starting with <paramref name="pathPrefix"/> (null: all).</summary>
    public void Set(FaultMode mode, string? pathPrefix)
    {
        CancellationTokenSource old;
        lock (_gate)
        {
            Mode = mode;
            PathPrefix = string.IsNullOrEmpty(pathPrefix) ? null : pathPrefix;
            old = _cleared;
            _cleared = new CancellationTokenSource();
        }

        old.Cancel();
        old.Dispose();
    }

    internal (FaultMode Mode, CancellationToken Cleared) Current(PathString path)
    {
        lock (_gate)
        {
            if (Mode == FaultMode.None || (PathPrefix is not null && !path.StartsWithSegments(PathPrefix, StringComparison.OrdinalIgnoreCase)))
            {
                return (FaultMode.None, CancellationToken.None);
            }

            return (Mode, _cleared.Token);
        }
    }

    internal void CountFault() => Interlocked.Increment(ref _faulted);
}

/// <summary>The middleware that applies the fault switch.</summary>
public static class FaultSwitchMiddleware
{
    /// <summary>Puts the fault switch in front of every path but <c>/admin</c>.</summary>
    public static IApplicationBuilder UseFaultSwitch(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var faults = app.ApplicationServices.GetRequiredService<FaultSwitch>();
        return app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var (mode, cleared) = faults.Current(context.Request.Path);
            if (mode != FaultMode.None)
            {
                faults.CountFault();
            }

            switch (mode)
            {
                case FaultMode.Unavailable:
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    context.Response.Headers.RetryAfter = "1";
                    await context.Response.WriteAsJsonAsync(new { error = new { code = "unavailable", message = "fault switch: unavailable" } }).ConfigureAwait(false);
                    return;
                case FaultMode.Silent:
                    // Hold the request until the caller gives up or the fault is cleared; bounded so nothing hangs forever.
                    using (var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, cleared))
                    {
                        try
                        {
                            await Task.Delay(TimeSpan.FromMinutes(5), linked.Token).ConfigureAwait(false);
                        }
                        catch (OperationCanceledException)
                        {
                        }
                    }

                    if (context.RequestAborted.IsCancellationRequested)
                    {
                        return;
                    }

                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    context.Response.Headers.RetryAfter = "1";
                    return;
                case FaultMode.Garbage:
                    context.Response.StatusCode = StatusCodes.Status200OK;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("{\"this is\": not json").ConfigureAwait(false);
                    return;
                case FaultMode.Oversized:
                    context.Response.StatusCode = StatusCodes.Status200OK;
                    context.Response.ContentType = "application/json";
                    await context.Response.WriteAsync("{\"padding\":\"" + new string('x', (1024 * 1024) + 4096) + "\"}").ConfigureAwait(false);
                    return;
                default:
                    await next(context).ConfigureAwait(false);
                    return;
            }
        });
    }
}
