#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after another, from seed corpora
# built by fuzz/seed.sh. Not part of `cargo test`. Needs cargo-fuzz (`cargo install
# cargo-fuzz`); on a stable toolchain it sets RUSTC_BOOTSTRAP=1 for the sanitizer flags.
#
#   fuzz/run.sh 600            # ten minutes per target
#   fuzz/run.sh 60 sniff pem   # only these targets
#
# Findings land in fuzz/artifacts/TARGET/; each must become a regression test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(sniff pem manifest crl plan apps dn_roundtrip ocsp acme stream targets merge credentials
        handshake inspect_other)
fi
export RUSTC_BOOTSTRAP=1
cd "$root"
for t in "${targets[@]}"; do
    [ -d "$here/corpus/$t" ] || { bash "$here/seed.sh"; break; }
done
# -a: debug assertions and overflow checks, so an integer overflow on hostile input is a finding.
cargo fuzz build -O -a
for t in "${targets[@]}"; do
    mkdir -p "$here/artifacts/$t"
    echo "== $t: ${secs}s"
    cargo fuzz run -O -a "$t" "$here/corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -artifact_prefix="$here/artifacts/$t/" -print_final_stats=1 2>&1 |
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+== ERROR|SUMMARY|Done)' || true
    echo "   findings: $(find "$here/artifacts/$t" -type f | wc -l)"
done
