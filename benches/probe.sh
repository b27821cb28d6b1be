#!/usr/bin/env bash
# Benchmarks `certsweep probe` against a shell loop of `openssl s_client` over the same
# loopback targets, in the same run, and the silent-target case (every target times out).
#
# Usage (from the crate root): benches/probe.sh
# Environment: PROBE_N probes (default 1000), PROBE_SILENT silent targets (default 200),
#              PROBE_CONCURRENCY (default 64), BENCH_REPS runs per case, median (default 3).
# Servers: benches/probe_server.rs (rustls, fixed thread pool), started here on
# 127.0.0.1 port 0 and killed on exit. No traffic leaves loopback.
set -euo pipefail
export LC_ALL=C

readonly TARGET_DIR="${CARGO_TARGET_DIR:-target}"
readonly CERTSWEEP="$TARGET_DIR/release/certsweep"
readonly SERVER="$TARGET_DIR/release/examples/probe-server"
readonly N="${PROBE_N:-1000}"
readonly SILENT="${PROBE_SILENT:-200}"
readonly CONC="${PROBE_CONCURRENCY:-64}"
readonly REPS="${BENCH_REPS:-3}"
readonly NOW="2026-01-01T00:00:00Z"

log() { printf '%s\n' "$*" >&2; }

pids=()
tmp="$(mktemp -d)"
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

seconds() { # runs "$@" REPS times, prints the median wall seconds
    local start end i
    local -a samples=()
    for ((i = 0; i < REPS; i++)); do
        start="$EPOCHREALTIME"
        "$@" > /dev/null 2>&1 || true # exit codes are checked separately
        end="$EPOCHREALTIME"
        samples+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')")
    done
    printf '%s\n' "${samples[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

start_server() { # mode: starts it in this shell (so cleanup can kill it), port in $tmp/port.MODE
    "$SERVER" "$1" > "$tmp/port.$1" 2> /dev/null &
    pids+=("$!")
}

wait_port() { # mode -> prints the port
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s "$tmp/port.$1" ]] && { head -n1 "$tmp/port.$1"; return; }
        sleep 0.05
    done
    log "probe-server $1 did not start"; exit 1
}

log "building (release)..."
# Two calls: the example's dev-dependency features must not leak into certsweep's build.
cargo build --release --quiet
cargo build --release --quiet --example probe-server

command -v openssl > /dev/null || { log "needs openssl"; exit 1; }
start_server tls
start_server silent
tls_port="$(wait_port tls)"
silent_port="$(wait_port silent)"
log "tls server on 127.0.0.1:$tls_port, silent server on 127.0.0.1:$silent_port"

# The same N targets for both tools: one port, SNI shop.example.com.
for ((i = 1; i <= N; i++)); do echo "127.0.0.1:$tls_port shop.example.com"; done > "$tmp/targets.txt"
for ((i = 1; i <= SILENT; i++)); do echo "127.0.0.1:$silent_port"; done > "$tmp/silent.txt"

certsweep_tls() {
    "$CERTSWEEP" probe --now "$NOW" --targets "$tmp/targets.txt" --concurrency "$CONC" \
        --roots fixtures/ca/root-ca.pem --format ndjson
}
openssl_loop() {
    local host sni
    while read -r host sni; do
        openssl s_client -connect "$host" -servername "$sni" \
            -CAfile fixtures/ca/root-ca.pem < /dev/null
    done < "$tmp/targets.txt"
}
certsweep_silent() {
    "$CERTSWEEP" probe --now "$NOW" --targets "$tmp/silent.txt" --concurrency "$CONC" \
        --timeout 1 --connect-timeout 1 --format ndjson
}

# Correctness first: every certsweep probe succeeded and verified; every silent one failed.
certsweep_tls > "$tmp/out.ndjson" || { log "certsweep probe failed"; exit 1; }
ok="$(grep -c '"type":"target","target"' "$tmp/out.ndjson" || true)"
verified="$(grep -c '"verified":true' "$tmp/out.ndjson" || true)"
[[ "$ok" == "$N" && "$verified" == "$N" ]] || { log "expected $N verified probes, got $ok/$verified"; exit 1; }
set +e; certsweep_silent > "$tmp/silent.ndjson" 2> /dev/null; code=$?; set -e
[[ "$code" == 2 ]] || { log "silent targets: expected exit 2, got $code"; exit 1; }
timeouts="$(grep -c 'timed out after 1s' "$tmp/silent.ndjson" || true)"
[[ "$timeouts" == "$SILENT" ]] || { log "expected $SILENT timeouts, got $timeouts"; exit 1; }
openssl s_client -connect "127.0.0.1:$tls_port" -servername shop.example.com \
    -CAfile fixtures/ca/root-ca.pem < /dev/null 2>/dev/null | grep -q "Verify return code: 0" \
    || { log "openssl s_client did not verify"; exit 1; }

log "timing ($REPS runs each, median)..."
t_cs="$(seconds certsweep_tls)"
t_os="$(seconds openssl_loop)"
t_si="$(seconds certsweep_silent)"

waves=$(( (SILENT + CONC - 1) / CONC ))
awk -v n="$N" -v c="$CONC" -v cs="$t_cs" -v os="$t_os" -v si="$t_si" -v s="$SILENT" -v w="$waves" -v reps="$REPS" 'BEGIN {
    printf "| case | certsweep | openssl s_client loop | ratio |\n|---|---:|---:|---:|\n"
    printf "| %d loopback probes, --concurrency %d | %.3f s | %.3f s | %.1fx |\n", n, c, cs, os, os / cs
    printf "\n| silent targets | --timeout | wall | %d/%d x 1 s + 20%% | ceil(%d/%d) x 1 s + 20%% |\n|---|---:|---:|---:|---:|\n", s, c, s, c
    printf "| %d | 1 s | %.3f s | %.3f s | %.3f s |\n", s, si, s / c * 1.2, w * 1.2
    printf "\nMedian of %d runs; same machine, same run, same server (rustls, pool of 96 threads).\n", reps
}'
