using Keeptrusts.Policy.Configuration;
using Keeptrusts.Policy.Configuration.Yaml;
using Keeptrusts.Policy.Diagnostics;

namespace Keeptrusts.Policy.Linting.Rules;

/// <summary>Targets have unique ids, a family the gateway can run, usable URLs and credential references.</summary>
internal sealed class ProviderTargetRule : IConfigRule
{
    public void Check(LintContext context)
    {
        var targets = context.Config.Providers.Targets;
        var ids = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i];
            var path = ConfigPath.Index("providers.targets", i);
            if (target.Id.Length > 0 && !ids.TryAdd(target.Id, i))
            {
                context.Report(DiagnosticCodes.DuplicateTargetId, $"target id '{target.Id}' is already used by providers.targets[{ids[target.Id]}] (ids are compared case-insensitively)", path + ".id");
            }

            CheckFamily(context, target, path);
            CheckBaseUrl(context, target, path);
            CheckSecretRef(context, target.SecretKeyRef, path + ".secret_key_ref");
            CheckModels(context, target, path);

            if (target.Weight < 0)
            {
                context.Report(DiagnosticCodes.ResilienceRange, $"weight must be 0 or more, found {target.Weight}", path + ".weight");
            }

            if (target.TimeoutMs <= 0)
            {
                context.Report(DiagnosticCodes.ResilienceRange, $"timeout_ms must be positive, found {target.TimeoutMs}", path + ".timeout_ms");
            }
        }

        if (context.Config.Providers.Routing.Strategy == RoutingStrategy.Weighted && targets.Count > 0 && targets.All(static t => t.Weight == 0))
        {
            context.Report(DiagnosticCodes.ResilienceRange, "the weighted strategy needs at least one target with a weight above 0", "providers.routing.strategy");
        }
    }

    private static void CheckFamily(LintContext context, ProviderTarget target, string path)
    {
        if (target.Provider.Length == 0)
        {
            return;
        }

        var name = target.Id.Length > 0 ? target.Id : path;
        switch (ProviderFamilies.Classify(target.Provider))
        {
            case ProviderFamilyKind.Rejected:
                context.Report(DiagnosticCodes.RejectedFamily, $"target '{name}' uses provider '{target.Provider}', which the gateway refuses to load: {ProviderFamilies.AlternativeFor(target.Provider)}", path + ".provider");
                break;
            case ProviderFamilyKind.Adapter when string.IsNullOrWhiteSpace(target.AdapterCommand):
                context.Report(DiagnosticCodes.AdapterCommandMissing, $"target '{name}' uses the adapter family '{target.Provider}' without adapter_command; requests to it will fail with 501 until a local runner is configured", path + ".provider");
                break;
            case ProviderFamilyKind.Supported when target.Provider.Trim().Equals(ProviderFamilies.Mcp, StringComparison.OrdinalIgnoreCase)
                && string.IsNullOrWhiteSpace(target.BaseUrl) && string.IsNullOrWhiteSpace(target.AdapterCommand):
                context.Report(DiagnosticCodes.McpTargetWithoutEndpoint, $"MCP target '{name}' has neither base_url (the native bridge calls base_url + /mcp) nor adapter_command (a local MCP runner over stdio); its MCP requests fail until one of them is set", path + ".provider");
                break;
            case ProviderFamilyKind.Unknown:
                context.Report(DiagnosticCodes.UnknownFamily, $"target '{name}' uses provider '{target.Provider}', which is not a known family; for an OpenAI-compatible API use 'provider: openai' with its base_url. Known: {string.Join(", ", ProviderFamilies.KnownNames)}", path + ".provider");
                break;
        }
    }

    private static void CheckBaseUrl(LintContext context, ProviderTarget target, string path)
    {
        if (target.BaseUrl is not { } url)
        {
            return;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || string.IsNullOrEmpty(uri.Host))
        {
            context.Report(DiagnosticCodes.InvalidBaseUrl, $"base_url '{url}' is not an absolute http(s) URL", path + ".base_url");
        }
        else if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            context.Report(DiagnosticCodes.InvalidBaseUrl, "base_url must not carry credentials; use secret_key_ref", path + ".base_url");
        }
    }

    internal static void CheckSecretRef(LintContext context, SecretKeyRef? reference, string path)
    {
        if (reference is null)
        {
            return;
        }

        var hasEnv = !string.IsNullOrWhiteSpace(reference.Env);
        var hasStore = !string.IsNullOrWhiteSpace(reference.Store);
        if (hasEnv == hasStore)
        {
            context.Report(DiagnosticCodes.SecretKeyRefShape, hasEnv
                ? "secret_key_ref sets both 'env' and 'store'; keep exactly one so it is clear where the credential comes from"
                : "secret_key_ref needs exactly one of 'env' (an environment variable) or 'store' (a managed config variable)", path);
        }
    }

    private static void CheckModels(LintContext context, ProviderTarget target, string path)
    {
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var m = 0; m < target.Models.Count; m++)
        {
            var id = target.Models[m].Id;
            if (id.Length > 0 && !seen.TryAdd(id, m))
            {
                context.Report(DiagnosticCodes.DuplicateModelId, $"model '{id}' is declared twice in target '{target.Id}'", ConfigPath.Index(path + ".models", m) + ".id");
            }

            CheckPricing(context, target.Models[m].Pricing, ConfigPath.Index(path + ".models", m) + ".pricing");
        }

        CheckPricing(context, target.Pricing, path + ".pricing");
    }

    private static void CheckPricing(LintContext context, ModelPricing? pricing, string path)
    {
        if (pricing is null)
        {
            return;
        }

        if (pricing.InputUsdPerMillion < 0 || pricing.OutputUsdPerMillion < 0 || pricing.CachedInputUsdPerMillion < 0)
        {
            context.Report(DiagnosticCodes.InvalidValue, "prices cannot be negative", path);
        }
    }
}
