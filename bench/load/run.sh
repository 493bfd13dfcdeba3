#!/usr/bin/env bash
# Load run: requests/s and latency of the standalone gateway with the quickstart chain on, against a fixed-answer
# fake upstream on 127.0.0.1, first directly and then through the gateway. Everything stays on loopback and stops
# by itself. Two rounds: one connection (the latency a single caller sees) and 32 connections (throughput on a
# saturated 2-core machine, where latency is mostly queueing). Usage: bench/load/run.sh [duration, default 15s]
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=${1:-15s}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

if ! command -v wrk >/dev/null 2>&1; then
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then as_root="sudo -n"; fi
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq wrk </dev/null >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_for() {
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "not answering: $1" >&2
  exit 1
}

echo "building (Release)..." >&2
dotnet build -c Release -v quiet -nologo bench/load/FakeUpstream/Keeptrusts.Load.FakeUpstream.csproj >/dev/null
dotnet build -c Release -v quiet -nologo src/Keeptrusts.GatewayHost/Keeptrusts.GatewayHost.csproj >/dev/null

upstream_port=$(free_port)
gateway_port=$(free_port)
dotnet bench/load/FakeUpstream/bin/Release/net10.0/Keeptrusts.Load.FakeUpstream.dll "$upstream_port" >"$work/upstream.log" 2>&1 &
pids+=($!)
sed -e "s|@UPSTREAM@|http://127.0.0.1:$upstream_port|" -e "s|@AUDIT@|$work/audit/audit.jsonl|" bench/load/policy-config.yaml.in >"$work/policy-config.yaml"
mkdir -p "$work/audit"
dotnet src/Keeptrusts.GatewayHost/bin/Release/net10.0/kt.dll gateway run --policy-config "$work/policy-config.yaml" \
  --listen "127.0.0.1:$gateway_port" --max-concurrency 64 --no-watch >"$work/gateway.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$upstream_port/v1/models"
wait_for "http://127.0.0.1:$gateway_port/health"

run() { # name url connections
  local threads=$(( $3 < 2 ? 1 : 2 ))
  # A short warm-up (JIT, connection pools), then the measured run.
  wrk -t"$threads" -c"$3" -d3s -s bench/load/chat.lua "$2" >/dev/null
  wrk -t"$threads" -c"$3" -d"$duration" --latency -s bench/load/chat.lua "$2" >"$work/$1.txt"
}

ms() { # wrk latency value (e.g. 812.00us, 1.21ms, 2.00s) -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}
field() { awk -v p="$2" '$1 == p { print $2 }' "$work/$1.txt"; }
rps() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$work/$1.txt"; }
errors() { awk '/Non-2xx|Socket errors/ { print }' "$work/$1.txt"; }

echo
echo "wrk --latency -d$duration, 1-4 KB chat bodies (bench/load/chat.lua), quickstart chain"
printf '%-6s %-9s %10s %10s %10s\n' conns "" "req/s" "p50 ms" "p99 ms"
for connections in 1 32; do
  run "direct-$connections" "http://127.0.0.1:$upstream_port" "$connections"
  run "gateway-$connections" "http://127.0.0.1:$gateway_port" "$connections"
  d50=$(ms "$(field "direct-$connections" 50%)"); d99=$(ms "$(field "direct-$connections" 99%)")
  g50=$(ms "$(field "gateway-$connections" 50%)"); g99=$(ms "$(field "gateway-$connections" 99%)")
  printf '%-6s %-9s %10s %10s %10s\n' "$connections" direct "$(rps "direct-$connections")" "$d50" "$d99"
  printf '%-6s %-9s %10s %10s %10s\n' "$connections" gateway "$(rps "gateway-$connections")" "$g50" "$g99"
  printf '%-6s %-9s %10s %10s %10s\n' "$connections" added "" "$(awk -v a="$g50" -v b="$d50" 'BEGIN { printf "%.3f", a - b }')" "$(awk -v a="$g99" -v b="$d99" 'BEGIN { printf "%.3f", a - b }')"
  for name in "direct-$connections" "gateway-$connections"; do
    if [ -n "$(errors "$name")" ]; then echo "$name: $(errors "$name")"; fi
  done
done
