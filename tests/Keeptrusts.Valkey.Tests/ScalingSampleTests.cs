using Keeptrusts.Policy.Configuration;

namespace Keeptrusts.Valkey.Tests;

/// <summary>The files docs/scaling.md points at stay valid: the configuration lints, the manifests keep their promises.</summary>
public sealed class ScalingSampleTests
{
    private static string Sample(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Keeptrusts.Sdk.sln")))
        {
            directory = directory.Parent;
        }

        Assert.NotNull(directory);
        return Path.Combine(directory.FullName, "samples", "scaling", name);
    }

    [Fact]
    public void The_replica_configuration_lints_clean_and_shares_everything()
    {
        var result = PolicyConfigLoader.LoadFiles([Sample("policy-config.yaml")]);

        Assert.Empty(result.Diagnostics);
        Assert.Equal("KEEPTRUSTS_REDIS_URL", result.Config!.DistributedRateLimit!.UrlEnv);
        Assert.Equal(MemoryBackend.Valkey, result.Config.Memory!.Backend);
        Assert.NotNull(result.Config.Deduplication);
    }

    [Fact]
    public void The_kubernetes_manifests_probe_with_kt_doctor_and_scale_from_2_to_10()
    {
        var manifests = File.ReadAllText(Sample("kubernetes.yaml"));

        Assert.Equal(2, manifests.Split("command: [\"kt\", \"doctor\"").Length - 1);
        Assert.Contains("minReplicas: 2", manifests, StringComparison.Ordinal);
        Assert.Contains("maxReplicas: 10", manifests, StringComparison.Ordinal);
        Assert.Contains("kind: HorizontalPodAutoscaler", manifests, StringComparison.Ordinal);
        Assert.Contains("KEEPTRUSTS_REDIS_URL", manifests, StringComparison.Ordinal);
        Assert.Contains("[\"CMD\", \"kt\", \"doctor\"", File.ReadAllText(Sample("docker-compose.yml")), StringComparison.Ordinal);
    }
}
