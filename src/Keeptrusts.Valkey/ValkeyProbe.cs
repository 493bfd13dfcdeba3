using StackExchange.Redis;

namespace Keeptrusts.Valkey;

/// <summary>One <c>PING</c> on a fresh connection, for <c>kt doctor</c>: what a start would find, never a password.</summary>
internal static class ValkeyProbe
{
    public static async Task<(bool Ok, string Detail)> PingAsync(ValkeyEndpoint endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var configuration = endpoint.ToConfiguration(new ValkeyOptions { ConnectTimeout = timeout, CommandTimeout = timeout });
        configuration.AbortOnConnectFail = true;
        try
        {
            var connection = await ConnectionMultiplexer.ConnectAsync(configuration).WaitAsync(timeout * 2, cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                var elapsed = await connection.GetDatabase(endpoint.Database).PingAsync().WaitAsync(timeout * 2, cancellationToken).ConfigureAwait(false);
                return (true, $"{endpoint} answers PING in {elapsed.TotalMilliseconds:0.#} ms");
            }
        }
        catch (RedisConnectionException ex)
        {
            return (false, $"{endpoint} is unreachable ({ex.FailureType})");
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return (false, $"{endpoint} did not answer PING ({ex.GetType().Name})");
        }
    }
}
