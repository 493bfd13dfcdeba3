namespace Keeptrusts.AspNetCore;

/// <summary>
/// The gateway's running state: the configuration revision in force and how to replace it. A host reloads on SIGHUP
/// with <c>ReloadAsync(null)</c>; <c>POST /keeptrusts/config/reload</c> goes through the same path.
/// </summary>
public interface IKeeptrustsGatewayRuntime
{
    /// <summary>The revision new requests start on. Requests already running keep the one they started with.</summary>
    GatewaySnapshot Current { get; }

    /// <summary>
    /// Loads, lints and builds a new revision, then swaps it in atomically. An invalid document changes nothing: the
    /// current revision keeps serving and the result carries every finding. Reloads run one at a time.
    /// </summary>
    /// <param name="yaml">A complete configuration document that replaces the running one; null re-reads the configured files.</param>
    /// <param name="cancellationToken">Cancels the reload before the swap.</param>
    /// <returns>The outcome, with the revision in force afterwards.</returns>
    Task<GatewayReloadResult> ReloadAsync(string? yaml, CancellationToken cancellationToken);
}
