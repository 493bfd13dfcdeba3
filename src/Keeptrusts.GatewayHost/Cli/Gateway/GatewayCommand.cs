using System.CommandLine;

namespace Keeptrusts.GatewayHost.Cli.Gateway;

/// <summary>The <c>kt gateway</c> group: running the policy enforcement gateway.</summary>
internal sealed class GatewayCommand : Command
{
    public GatewayCommand(KtConsole console)
        : base("gateway", "Run the Keeptrusts policy enforcement gateway.")
    {
        Subcommands.Add(new GatewayRunCommand(console));
    }
}
