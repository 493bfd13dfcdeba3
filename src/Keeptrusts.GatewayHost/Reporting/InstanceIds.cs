using System.Security.Cryptography;

namespace Keeptrusts.GatewayHost.Reporting;

/// <summary>
/// The gateway's <c>instance_id</c>: kept in <c>{data dir}/instance_id</c> so a restarted gateway (and the events it
/// replays from its spool) keeps the same id; <c>KEEPTRUSTS_INSTANCE_ID</c> overrides it.
/// </summary>
internal static class InstanceIds
{
    private const string FileName = "instance_id";

    public static string New() => "gw_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>Reads the id kept in <paramref name="dataDirectory"/>, or makes and keeps a new one.</summary>
    public static string LoadOrCreate(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        if (File.Exists(path))
        {
            var kept = File.ReadAllText(path).Trim();
            if (kept.Length is > 0 and <= 128 && kept.All(static c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            {
                return kept;
            }
        }

        var id = New();
        var temp = path + ".tmp";
        File.WriteAllText(temp, id + "\n");
        File.Move(temp, path, overwrite: true);
        return id;
    }
}
