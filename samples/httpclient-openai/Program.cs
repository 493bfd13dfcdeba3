using Keeptrusts.Samples.HttpClientOpenAI;

await Sample.RunAsync(Console.Out, Path.Combine(AppContext.BaseDirectory, "policy-config.yaml"));
