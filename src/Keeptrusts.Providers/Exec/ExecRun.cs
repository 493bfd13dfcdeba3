using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Keeptrusts.Providers.Exec;

/// <summary>
/// One run of a local command: the request is written to its stdin, its stdout is the answer, the start of its
/// stderr is kept for error messages. Disposing kills the whole process tree if it is still running.
/// </summary>
internal sealed class ExecRun : IAsyncDisposable
{
    public const int StderrExcerptBytes = 1024;

    private readonly Process _process;
    private readonly Task _stdin;
    private readonly Task<string> _stderr;
    private int _disposed;

    private ExecRun(Process process, ReadOnlyMemory<byte> input)
    {
        _process = process;
        _stdin = WriteInputAsync(process, input);
        _stderr = ReadExcerptAsync(process.StandardError.BaseStream);
    }

    public Stream Stdout => _process.StandardOutput.BaseStream;

    public int ProcessId => _process.Id;

    /// <summary>Starts the command. Throws <see cref="Win32Exception"/> when the program cannot be started.</summary>
    public static ExecRun Start(string program, IReadOnlyList<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment, ReadOnlyMemory<byte> input)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var process = Process.Start(info) ?? throw new Win32Exception("the process did not start");
        return new ExecRun(process, input);
    }

    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>The first <see cref="StderrExcerptBytes"/> bytes of stderr as one cleaned line (available once stderr has closed).</summary>
    public Task<string> StderrExcerptAsync(CancellationToken cancellationToken) => _stderr.WaitAsync(cancellationToken);

    /// <summary>Kills the process and everything it started, if it is still running.</summary>
    public void KillTree()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Exited meanwhile, or already gone.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        KillTree();
        try
        {
            await _stdin.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process is gone; there is nobody left to write to.
        }

        _process.Dispose();
    }

    private static async Task WriteInputAsync(Process process, ReadOnlyMemory<byte> input)
    {
        var stdin = process.StandardInput.BaseStream;
        try
        {
            await stdin.WriteAsync(input).ConfigureAwait(false);
            await stdin.FlushAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
            // The command did not read its input (it exited or closed stdin); its output decides the outcome.
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // Broken pipe on close: same as above.
            }
        }
    }

    private static async Task<string> ReadExcerptAsync(Stream stderr)
    {
        var kept = new byte[StderrExcerptBytes];
        var count = 0;
        var scratch = new byte[4096];
        try
        {
            while (true)
            {
                var read = await stderr.ReadAsync(scratch).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var take = Math.Min(read, kept.Length - count);
                scratch.AsSpan(0, take).CopyTo(kept.AsSpan(count));
                count += take;
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Keep what arrived before the stream closed.
        }

        return Clean(Encoding.UTF8.GetString(kept, 0, count));
    }

    private static string Clean(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            builder.Append(char.IsControl(c) ? ' ' : c);
        }

        return builder.ToString().Trim();
    }
}
