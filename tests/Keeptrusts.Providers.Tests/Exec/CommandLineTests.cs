using Keeptrusts.Providers.Exec;

namespace Keeptrusts.Providers.Tests.Exec;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData("python3 runner.py", new[] { "python3", "runner.py" })]
    [InlineData("  node   agent.js  --flag  ", new[] { "node", "agent.js", "--flag" })]
    [InlineData("/bin/sh -c 'echo \"hi\" | cat'", new[] { "/bin/sh", "-c", "echo \"hi\" | cat" })]
    [InlineData("run \"two words\" 'and three words'", new[] { "run", "two words", "and three words" })]
    [InlineData("run \"a \\\"quoted\\\" \\\\ word\"", new[] { "run", "a \"quoted\" \\ word" })]
    [InlineData("run \"keep \\n as is\"", new[] { "run", "keep \\n as is" })]
    [InlineData("run one\\ word", new[] { "run", "one word" })]
    [InlineData("run pre'fix'\"ed\"", new[] { "run", "prefixed" })]
    [InlineData("run '' \"\"", new[] { "run", "", "" })]
    [InlineData("run $HOME *.json >out", new[] { "run", "$HOME", "*.json", ">out" })]
    public void Splits_words_with_shell_quoting_and_nothing_else(string commandLine, string[] expected)
    {
        var words = CommandLine.Split(commandLine, out var problem);

        Assert.Null(problem);
        Assert.Equal(expected, words);
    }

    [Theory]
    [InlineData("run 'open", "single quote")]
    [InlineData("run \"open", "double quote")]
    [InlineData("   ", "no program")]
    [InlineData("'' arg", "no program")]
    public void Reports_unbalanced_quotes_and_missing_programs(string commandLine, string expected)
    {
        Assert.Null(CommandLine.Split(commandLine, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }
}
