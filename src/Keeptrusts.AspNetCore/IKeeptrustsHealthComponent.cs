using System.Text.Json;

namespace Keeptrusts.AspNetCore;

/// <summary>
/// A part of the host that <c>GET /health</c> reports under <c>components</c>, beside the configuration, the
/// providers and the sinks (the standalone gateway's relay is one). Register implementations as singletons; the
/// endpoint finds every one. A component reports its own state; it does not change the gateway's overall status.
/// </summary>
public interface IKeeptrustsHealthComponent
{
    /// <summary>The property name under <c>components</c>, in snake_case (for example <c>relay</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Writes the properties of the component's object (the endpoint opens and closes the object). It must be quick,
    /// must not block, and must never write a secret: <c>/health</c> is open to everyone.
    /// </summary>
    /// <param name="writer">The writer, positioned inside the component's object.</param>
    void WriteHealth(Utf8JsonWriter writer);
}
