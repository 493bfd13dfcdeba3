using System.Net.Security;
using System.Net.Sockets;

namespace Keeptrusts.Policy.RateLimiting;

/// <summary>
/// One open connection to Valkey, used by one command at a time (the pool hands it out exclusively), so replies
/// never need matching to requests.
/// </summary>
internal sealed class ValkeyConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly RespCodec _codec;

    private ValkeyConnection(Socket socket, Stream stream)
    {
        _socket = socket;
        _stream = stream;
        _codec = new RespCodec(stream);
    }

    /// <summary>Opens a connection and authenticates it; throws <see cref="IOException"/> (or a subclass) for any refusal.</summary>
    public static async Task<ValkeyConnection> OpenAsync(ValkeyEndpoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: false);
            if (endpoint.Tls)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = endpoint.Host }, cancellationToken).ConfigureAwait(false);
            }

            var connection = new ValkeyConnection(socket, stream);
            if (endpoint.Password is { } password)
            {
                var auth = endpoint.User is { } user
                    ? await connection.ExecuteAsync(RespCodec.Encode("AUTH", user, password), cancellationToken).ConfigureAwait(false)
                    : await connection.ExecuteAsync(RespCodec.Encode("AUTH", password), cancellationToken).ConfigureAwait(false);
                ThrowOnError(auth, "AUTH");
            }

            if (endpoint.Database != 0)
            {
                ThrowOnError(await connection.ExecuteAsync(RespCodec.Encode("SELECT", endpoint.Database.ToString(System.Globalization.CultureInfo.InvariantCulture)), cancellationToken).ConfigureAwait(false), "SELECT");
            }

            return connection;
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            socket.Dispose();
            throw;
        }
    }

    public async ValueTask<RespReply> ExecuteAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(command, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        return await _codec.ReadAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }

    /// <summary>Server error text names the failure (WRONGPASS, NOAUTH, ...) and never echoes the credential.</summary>
    private static void ThrowOnError(RespReply reply, string command)
    {
        if (reply.IsError)
        {
            throw new ValkeyServerException($"{command} failed: {reply.Text}");
        }
    }
}

/// <summary>Valkey answered a command with an error reply.</summary>
internal sealed class ValkeyServerException(string message) : IOException(message);
