// A fixed-answer OpenAI chat-completions upstream for bench/load/run.sh: reads the whole request body (as a real
// provider would) and answers with the same small completion, so the load run measures the gateway, not the upstream.
using System.Globalization;
using System.Net;

var port = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 18080;
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseKestrel(k =>
{
    k.Listen(IPAddress.Loopback, port);
    k.AddServerHeader = false;
});

var app = builder.Build();
var answer = """{"id":"chatcmpl-load","object":"chat.completion","created":1700000000,"model":"gpt-load","choices":[{"index":0,"message":{"role":"assistant","content":"Here is a short, fixed answer from the load-test upstream."},"finish_reason":"stop"}],"usage":{"prompt_tokens":512,"completion_tokens":12,"total_tokens":524}}"""u8.ToArray();
app.MapPost("/v1/chat/completions", async context =>
{
    var buffer = new byte[16 * 1024];
    while (await context.Request.Body.ReadAsync(buffer, context.RequestAborted) > 0)
    {
    }

    context.Response.ContentType = "application/json";
    context.Response.ContentLength = answer.Length;
    await context.Response.Body.WriteAsync(answer, context.RequestAborted);
});
app.MapGet("/v1/models", static () => Results.Json(new { @object = "list", data = new[] { new { id = "gpt-load", @object = "model" } } }));
await app.RunAsync();
