using Keeptrusts.Samples.ChatClient;

await Sample.RunAsync(Console.Out, Path.Combine(AppContext.BaseDirectory, "policy-config.yaml"));
