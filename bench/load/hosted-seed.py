# Writes an emulator seed with N hosted tenants (kt_gk_perf_00000_abcdefghij ...), each an echo target behind pii-detector.
# Used for the hosted-mode figures in docs/performance.md: python3 bench/load/hosted-seed.py 201 > /tmp/hosted-seed.yaml
import sys
n=int(sys.argv[1])
print("tokens:\n  - token: kt_gw_local_token\n    permissions: [events:write, events:read, gateway_keys:resolve]\ngateway_keys:")
for i in range(n):
    print(f"""  - key: kt_gk_perf_{i:05d}_abcdefghij
    key_id: gk_{i}
    owner: u{i}@example.com
    team: t{i}
    config_version: "1"
    policy_config: |
      pack: {{ name: perf{i}, version: 1.0.0 }}
      policies: {{ chain: [pii-detector] }}
      providers: {{ targets: [ {{ id: echo, provider: echo, model: echo-1 }} ] }}""")
