using System.CommandLine;

namespace Keeptrusts.GatewayHost.Cli.Policy;

/// <summary>The <c>kt policy</c> group: commands that work on policy-config.yaml files without running a gateway.</summary>
internal sealed class PolicyCommand : Command
{
    public PolicyCommand(KtConsole console)
        : base("policy", "Work with policy-config.yaml files without starting the gateway.")
    {
        Subcommands.Add(new PolicyLintCommand(console));
        Subcommands.Add(new PolicyEvalCommand(console));
    }
}
