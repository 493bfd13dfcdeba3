using System.Text.Json;
using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Routing;
using Keeptrusts.Providers.Tests.TestSupport;

namespace Keeptrusts.Providers.Tests.Exec;

public sealed class ExecProviderClientTests : IDisposable
{
    private const string Answer = """{"id":"chatcmpl-exec","object":"chat.completion","created":1741000000,"model":"local","choices":[{"index":0,"message":{"role":"assistant","content":"from the runner"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}""";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Writes_the_request_to_stdin_and_returns_stdout()
    {
        _dir.Write("runner.sh", """
            cat > request.json
            printf '%s' "$KEEPTRUSTS_TARGET_ID $KEEPTRUSTS_MODEL $KEEPTRUSTS_STREAM" > env.txt
            printf '%s' '{"object":"chat.completion","choices":[],"x_runner":true}'
            """);
        var (client, target) = Create("exec:/bin/sh runner.sh");

        await using var response = await client.SendAsync(Targets.Request(target, """{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x_field":1}""", model: "local-model"), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("""{"object":"chat.completion","choices":[],"x_runner":true}""", Targets.Text(response.Body));
        Assert.Equal("""{"model":"local-model","messages":[{"role":"user","content":"hi"}],"x_field":1}""", System.IO.File.ReadAllText(Path.Combine(_dir.Path, "request.json")));
        Assert.Equal("local-runner local-model 0", System.IO.File.ReadAllText(Path.Combine(_dir.Path, "env.txt")));
    }

    [Fact]
    public async Task Passes_quoted_arguments_without_a_shell()
    {
        _dir.Write("args.sh", """
            cat > /dev/null
            printf '%s\n' "$#" "$1" "$2" "$3" > args.txt
            printf '{}'
            """);
        var (client, target) = Create("exec:/bin/sh args.sh 'two words' \"say \\\"hi\\\"\" $HOME");

        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(["3", "two words", "say \"hi\"", "$HOME"], System.IO.File.ReadAllLines(Path.Combine(_dir.Path, "args.txt")));
    }

    [Fact]
    public async Task Streams_sse_data_lines_from_stdout()
    {
        _dir.Write("stream.sh", """
            cat > /dev/null
            printf 'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n'
            printf ': progress\n\n'
            printf 'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}\n\n'
            printf 'data: [DONE]\n\n'
            """);
        var (client, target) = Create("exec:/bin/sh stream.sh");

        await using var response = await client.SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());

        Assert.Equal(
            ["""{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}""", """{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}"""],
            await Targets.ReadChunksAsync(response));
    }

    [Fact]
    public async Task A_streamed_request_answered_with_one_json_document_is_cut_into_chunks()
    {
        _dir.Write("answer.json", Answer);
        _dir.Write("one.sh", "cat > /dev/null\ncat answer.json\n");
        var (client, target) = Create("exec:/bin/sh one.sh");

        await using var response = await client.SendAsync(Targets.Request(target, """{"stream_options":{"include_usage":true}}""", stream: true), Targets.Patience());
        var chunks = (await Targets.ReadChunksAsync(response)).Select(c => JsonDocument.Parse(c).RootElement).ToList();

        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("from the runner", string.Concat(chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0].GetProperty("delta")).Select(d => d.TryGetProperty("content", out var t) ? t.GetString() : "")));
        Assert.Equal(4, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task A_non_zero_exit_answers_502_with_the_exit_code_and_the_start_of_stderr()
    {
        _dir.Write("fail.sh", """
            cat > /dev/null
            printf 'model file missing\n' >&2
            head -c 5000 /dev/zero | tr '\0' 'x' >&2
            exit 3
            """);
        var (client, target) = Create("exec:/bin/sh fail.sh");

        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(502, response.StatusCode);
        var error = JsonDocument.Parse(response.Body).RootElement.GetProperty("error");
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("exited with code 3", message, StringComparison.Ordinal);
        Assert.Contains("model file missing", message, StringComparison.Ordinal);
        Assert.InRange(message.Count(c => c == 'x'), 1000, 1024);
        Assert.Equal("local_command_failed", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_streamed_request_whose_command_fails_before_any_output_answers_502()
    {
        _dir.Write("fail.sh", "cat > /dev/null\necho 'no GPU' >&2\nexit 7\n");
        var (client, target) = Create("exec:/bin/sh fail.sh");

        await using var response = await client.SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());

        Assert.Equal(502, response.StatusCode);
        Assert.Null(response.Chunks);
        Assert.Contains("exited with code 7: no GPU", Targets.Text(response.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streamed_command_that_fails_after_output_breaks_the_stream()
    {
        _dir.Write("half.sh", "cat > /dev/null\nprintf 'data: {\"choices\":[]}\\n\\n'\nexit 4\n");
        var (client, target) = Create("exec:/bin/sh half.sh");

        await using var response = await client.SendAsync(Targets.Request(target, "{}", stream: true), Targets.Patience());
        var error = await Assert.ThrowsAsync<ProviderException>(() => Targets.ReadChunksAsync(response));

        Assert.Equal(ProviderFailureKind.ConnectionReset, error.Kind);
        Assert.Contains("code 4", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("printf 'not json'")]
    [InlineData("true")]
    public async Task Output_that_is_not_a_json_object_is_an_invalid_response(string script)
    {
        _dir.Write("bad.sh", "cat > /dev/null\n" + script + "\n");
        var (client, target) = Create("exec:/bin/sh bad.sh");

        var error = await Assert.ThrowsAsync<ProviderException>(async () => await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience()));

        Assert.Equal(ProviderFailureKind.InvalidResponse, error.Kind);
    }

    [Fact]
    public async Task A_program_that_cannot_be_started_is_connection_refused()
    {
        var (client, target) = Create("exec:./does-not-exist --serve");

        var error = await Assert.ThrowsAsync<ProviderException>(async () => await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience()));

        Assert.Equal(ProviderFailureKind.ConnectionRefused, error.Kind);
        Assert.False(await client.ProbeAsync("/", Targets.Patience()));
    }

    [Fact]
    public async Task A_command_that_ignores_its_input_still_answers()
    {
        _dir.Write("answer.json", Answer);
        var (client, target) = Create("exec:cat answer.json");

        await using var response = await client.SendAsync(Targets.Request(target, "{\"pad\":\"" + new string('p', 200_000) + "\"}"), Targets.Patience());

        Assert.Equal(Answer, Targets.Text(response.Body));
        Assert.True(await client.ProbeAsync("/", Targets.Patience()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_attempt_timeout_kills_the_whole_process_tree(bool stream)
    {
        var time = new ManualTime(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var pidFile = Path.Combine(_dir.Path, "child.pid");
        _dir.Write("hang.sh", "cat > /dev/null\nsleep 300 &\necho $! > child.pid.tmp\nmv child.pid.tmp child.pid\nwait\n");
        var (client, target) = Create("exec:/bin/sh hang.sh", time);

        var attempt = client.SendAsync(Targets.Request(target, "{}", stream: stream, timeout: TimeSpan.FromSeconds(30)), Targets.Patience()).AsTask();
        var childPid = await WaitForPidAsync(pidFile);
        Assert.True(IsRunning(childPid));
        time.Advance(TimeSpan.FromSeconds(30));
        var error = await Assert.ThrowsAsync<ProviderException>(() => attempt.WaitAsync(FakeUpstream.Patience));

        Assert.Equal(ProviderFailureKind.Timeout, error.Kind);
        Assert.Equal("local-runner", error.TargetId);
        await WaitUntilAsync(() => !IsRunning(childPid));
    }

    [Fact]
    public async Task An_adapter_family_with_adapter_command_runs_the_command_and_tells_it_the_family()
    {
        _dir.Write("answer.json", Answer);
        _dir.Write("runner.sh", "cat > /dev/null\nprintf '%s' \"$KEEPTRUSTS_PROVIDER\" > provider.txt\ncat answer.json\n");
        var target = new ProviderTarget { Id = "chatkit-runner", Provider = "openai:chatkit:support-flow", AdapterCommand = "/bin/sh runner.sh" };
        var client = Targets.Client(target, Targets.Options(configure: o => o.WorkingDirectory = _dir.Path));

        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(Answer, Targets.Text(response.Body));
        Assert.Equal("openai:chatkit:support-flow", System.IO.File.ReadAllText(Path.Combine(_dir.Path, "provider.txt")));
    }

    [Theory]
    [InlineData("mcp")]
    [InlineData("anthropic:claude-agent-sdk")]
    public async Task Mcp_and_the_agent_sdk_run_adapter_command_when_it_is_set(string family)
    {
        _dir.Write("answer.json", Answer);
        var target = new ProviderTarget { Id = "runner", Provider = family, AdapterCommand = "cat answer.json" };
        var client = Targets.Client(target, Targets.Options(configure: o => o.WorkingDirectory = _dir.Path));

        await using var response = await client.SendAsync(Targets.Request(target, "{}"), Targets.Patience());

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(Answer, Targets.Text(response.Body));
    }

    [Fact]
    public void An_unbalanced_command_line_cannot_be_created_and_is_not_quoted_back()
    {
        var target = new ProviderTarget { Id = "local-runner", Provider = "exec:runner --token 'abc123secret" };

        var error = Assert.Throws<ProviderConfigurationException>(() => Targets.Client(target));

        Assert.Contains("single quote", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("abc123secret", error.Message, StringComparison.Ordinal);
    }

    private (IProviderClient Client, ProviderTarget Target) Create(string provider, TimeProvider? time = null)
    {
        var target = new ProviderTarget { Id = "local-runner", Provider = provider };
        return (Targets.Client(target, Targets.Options(time, o => o.WorkingDirectory = _dir.Path)), target);
    }

    private static async Task<int> WaitForPidAsync(string pidFile)
    {
        await WaitUntilAsync(() => System.IO.File.Exists(pidFile));
        return int.Parse(System.IO.File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Running means the process exists and is not a zombie (a killed orphan may wait for its reaper).</summary>
    private static bool IsRunning(int pid)
    {
        try
        {
            var stat = System.IO.File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var patience = new CancellationTokenSource(FakeUpstream.Patience);
        while (!condition())
        {
            await Task.Delay(10, patience.Token);
        }
    }
}
