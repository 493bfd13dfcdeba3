using System.CommandLine;

namespace Keeptrusts.GatewayHost.Cli.Audit;

/// <summary>The <c>kt audit</c> group: commands that work on the files the <c>audit-logger</c> policy writes.</summary>
internal sealed class AuditCommand : Command
{
    public AuditCommand(KtConsole console)
        : base("audit", "Work with the audit files written by the audit-logger policy.")
    {
        Subcommands.Add(new AuditVerifyCommand(console));
    }
}
