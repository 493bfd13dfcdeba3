using System.Text;

namespace Keeptrusts.Providers.Exec;

/// <summary>
/// Splits a command line into a program and its arguments the way a POSIX shell would quote, without a shell:
/// whitespace separates words; <c>'...'</c> is literal; <c>"..."</c> allows <c>\"</c>, <c>\\</c>, <c>\$</c> and
/// <c>\`</c> escapes; a backslash outside quotes escapes the next character. No expansion, globbing or redirection.
/// </summary>
internal static class CommandLine
{
    /// <summary>The words of <paramref name="commandLine"/>; null with a reason when the quoting is unbalanced or there is no program.</summary>
    public static IReadOnlyList<string>? Split(string commandLine, out string? problem)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < commandLine.Length; i++)
        {
            var c = commandLine[i];
            switch (c)
            {
                case ' ' or '\t' or '\n' or '\r':
                    if (inWord)
                    {
                        words.Add(word.ToString());
                        word.Clear();
                        inWord = false;
                    }

                    break;
                case '\'':
                    var close = commandLine.IndexOf('\'', i + 1);
                    if (close < 0)
                    {
                        problem = "a single quote is not closed";
                        return null;
                    }

                    word.Append(commandLine, i + 1, close - i - 1);
                    i = close;
                    inWord = true;
                    break;
                case '"':
                    i++;
                    while (i < commandLine.Length && commandLine[i] != '"')
                    {
                        if (commandLine[i] == '\\' && i + 1 < commandLine.Length && commandLine[i + 1] is '"' or '\\' or '$' or '`')
                        {
                            i++;
                        }

                        word.Append(commandLine[i]);
                        i++;
                    }

                    if (i >= commandLine.Length)
                    {
                        problem = "a double quote is not closed";
                        return null;
                    }

                    inWord = true;
                    break;
                case '\\':
                    if (i + 1 < commandLine.Length)
                    {
                        i++;
                        if (commandLine[i] != '\n')
                        {
                            word.Append(commandLine[i]);
                        }
                    }

                    inWord = true;
                    break;
                default:
                    word.Append(c);
                    inWord = true;
                    break;
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        if (words.Count == 0 || words[0].Length == 0)
        {
            problem = "it names no program";
            return null;
        }

        problem = null;
        return words;
    }
}
