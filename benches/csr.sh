#!/usr/bin/env bash
# Benchmarks `certsweep csr` in bulk against a shell loop of `openssl req -new -newkey ...`
# over the same certificates, and RSA bulk generation on all cores against one thread, all in
# the same run.
#
# Usage (from the crate root): benches/csr.sh
# Environment: BENCH_REPS runs per case, median reported (default 3);
#              BENCH_DIR where both tools write their files (default /dev/shm, tmpfs)
# Needs the corpora benches/corpus/1000 and benches/corpus/100 (benches/run.sh 1000 100 or
# the generator: target/release/examples/gen-corpus N benches/corpus/N).
set -euo pipefail
export LC_ALL=C

readonly TARGET_DIR="${CARGO_TARGET_DIR:-target}"
readonly CERTSWEEP="$TARGET_DIR/release/certsweep"
readonly GEN_CORPUS="$TARGET_DIR/release/examples/gen-corpus"
# A cutoff after every upload and a `now` before every expiry: every certificate is exposed,
# so every one gets a CSR.
readonly CUTOFF="2031-01-01"
readonly NOW="2012-01-01T00:00:00Z"

log() { printf '%s\n' "$*" >&2; }

tmp="" # scratch folder, removed on exit

readonly REPS="${BENCH_REPS:-3}"

seconds() { # runs "$@" REPS times, prints the median wall seconds
    local start end i
    local -a samples=()
    for ((i = 0; i < REPS; i++)); do
        # Flush earlier writes (the build, the previous case) so that no case pays for them:
        # certsweep makes its files durable before it reports them, openssl does not.
        sync
        start="$EPOCHREALTIME"
        "$@" > /dev/null
        end="$EPOCHREALTIME"
        samples+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')")
    done
    printf '%s\n' "${samples[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

certsweep_bulk() { # N KEY_TYPE OUT: a fresh folder each time (this VM's ext4 is slow to
    # create files right after a mass delete, which would penalise whichever case ran second)
    local n="$1" kind="$2" out="$3.$RANDOM$RANDOM"
    "$CERTSWEEP" -q csr --manifest "benches/corpus/$n/manifest.json" --cutoff "$CUTOFF" \
        --now "$NOW" --key-type "$kind" --out-dir "$out"
}

openssl_loop() { # N NEWKEY_ARGS... (one openssl process per certificate, as a person would)
    local n="$1" out="$2.$RANDOM$RANDOM"
    shift 2
    mkdir -p "$out"
    local i host
    for ((i = 0; i < n; i++)); do
        host=$(printf 'host%06d.bench.example' "$i")
        openssl req -new -newkey "$@" -nodes -keyout "$out/$host.key.pem" -out "$out/$host.csr.pem" \
            -subj "/CN=$host" -addext "subjectAltName=DNS:$host" 2> /dev/null
    done
}

main() {
    cargo build --release --bin certsweep >&2
    cargo build --release --example gen-corpus >&2
    local n
    for n in 1000 100; do
        [[ -d "benches/corpus/$n" ]] || "$GEN_CORPUS" "$n" "benches/corpus/$n" >&2
    done
    # Both tools write to the same place. Default: tmpfs, because this VM's ext4 slows file
    # creation for seconds after any mass delete, which swamped the tools' own cost
    # (see benches/README.md). BENCH_DIR=/some/disk/folder measures a disk instead.
    tmp="$(mktemp -d -p "${BENCH_DIR:-/dev/shm}")"
    trap 'rm -rf "$tmp"' EXIT

    log "ECDSA P-256: 1000 CSRs"
    local ec_cs ec_os
    ec_cs=$(seconds certsweep_bulk 1000 ecdsa-p256 "$tmp/ec-cs")
    ec_os=$(seconds openssl_loop 1000 "$tmp/ec-os" ec -pkeyopt ec_paramgen_curve:P-256)
    local made
    made=$(find "$tmp" -path "$tmp/ec-cs.*" -name '*.csr.pem' | wc -l)
    [[ $made == $((1000 * REPS)) ]] || { log "expected $((1000 * REPS)) CSRs, found $made"; exit 2; }

    log "RSA-2048: 100 CSRs"
    local rsa_all rsa_one rsa_os
    rsa_all=$(seconds certsweep_bulk 100 rsa-2048 "$tmp/rsa-all")
    rsa_one=$(RAYON_NUM_THREADS=1 seconds certsweep_bulk 100 rsa-2048 "$tmp/rsa-one")
    rsa_os=$(seconds openssl_loop 100 "$tmp/rsa-os" rsa:2048)

    printf '| case | seconds | per CSR (ms) | ratio |\n|---|---|---|---|\n'
    awk -v a="$ec_cs" -v b="$ec_os" 'BEGIN {
        printf "| certsweep csr, 1000 x ecdsa-p256, %d cores | %.3f | %.2f | %.1fx faster than the openssl loop |\n", '"$(nproc)"', a, a, b / a
        printf "| openssl req loop, 1000 x P-256 (baseline) | %.3f | %.2f | 1.0x |\n", b, b }'
    awk -v a="$rsa_all" -v o="$rsa_one" -v b="$rsa_os" 'BEGIN {
        printf "| certsweep csr, 100 x rsa-2048, all cores | %.3f | %.1f | %.2fx faster than one thread |\n", a, a * 10, o / a
        printf "| certsweep csr, 100 x rsa-2048, RAYON_NUM_THREADS=1 (baseline) | %.3f | %.1f | 1.0x |\n", o, o * 10
        printf "| openssl req loop, 100 x rsa:2048 | %.3f | %.1f | certsweep all cores %.2fx faster |\n", b, b * 10, b / a }'
}

main "$@"
