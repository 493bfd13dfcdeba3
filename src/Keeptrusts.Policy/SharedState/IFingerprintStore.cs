namespace Keeptrusts.Policy.SharedState;

/// <summary>
/// Remembers request fingerprints for a window so a repeat can be recognised. Implementations are thread-safe and
/// atomic per fingerprint: of two concurrent first sightings exactly one is the first.
/// </summary>
public interface IFingerprintStore
{
    /// <summary>Records a fingerprint unless it was already recorded within its window.</summary>
    /// <param name="fingerprint">The fingerprint (e.g. from <see cref="RequestFingerprint.Compute"/>).</param>
    /// <param name="window">How long the fingerprint is remembered.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns><see langword="true"/> when this is the first sighting in the window; <see langword="false"/> for a duplicate.</returns>
    ValueTask<bool> TryRecordAsync(string fingerprint, TimeSpan window, CancellationToken cancellationToken);
}

/// <summary>Creates the built-in fingerprint stores.</summary>
public static class FingerprintStores
{
    /// <summary>A store in this process's memory; expired fingerprints are swept as new ones arrive.</summary>
    /// <param name="time">The clock of the windows.</param>
    /// <returns>A new, empty store.</returns>
    public static IFingerprintStore CreateInProcess(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return new InProcessFingerprintStore(time);
    }
}
