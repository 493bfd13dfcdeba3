using Keeptrusts.GatewayHost.Cli;

return await KtCommand.RunAsync(args, KtConsole.FromProcess()).ConfigureAwait(false);
