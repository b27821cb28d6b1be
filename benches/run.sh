#!/usr/bin/env bash
# Benchmarks certsweep against two references measured in the same run:
#   - openssl storeutl: one process parsing and printing the whole bundle (the baseline);
#   - sha256sum: reading and hashing the same bytes (the I/O + hash floor).
#
# Usage (from the crate root): benches/run.sh [N...]      default: 10000 100000
# Environment: BENCH_REPS  timed repetitions per case, median reported (default 3)
#              BENCH_PAIRS  back-to-back manifest/bundle pairs per N and shape, after the
#                           interleaved repetitions, for the manifest / bundle ratio (default 11;
#                           0 skips them)
#              BENCH_SHAPES  key-sharing shapes, gen-corpus --keys values (default: 20 1000 distinct);
#                            certsweep runs on every shape, the baselines on the first one
#              CARGO_TARGET_DIR  honoured when locating the built binaries
#
# Output: a Markdown table on stdout, also saved as benches/results-YYYYMMDD-HHMM.md.
# Progress goes to stderr.
set -euo pipefail
# C locale: EPOCHREALTIME, sort -g and awk must all use "." as the decimal point.
export LC_ALL=C

readonly REPS="${BENCH_REPS:-3}"
readonly PAIRS="${BENCH_PAIRS:-11}"
read -r -a SHAPES <<< "${BENCH_SHAPES:-20 1000 distinct}"
readonly SHAPES
readonly CORPUS_ROOT="benches/corpus"
readonly TARGET_DIR="${CARGO_TARGET_DIR:-target}"
readonly CERTSWEEP="$TARGET_DIR/release/certsweep"
readonly GEN_CORPUS="$TARGET_DIR/release/examples/gen-corpus"

# Fixed clock and policy dates so every run asks certsweep the same question.
readonly NOW="2026-11-01T00:00:00Z"
readonly CUTOFF="2016-11-01"
readonly UPLOADED_AT="2016-01-01"

# Case names, in table order. certsweep runs on every shape; the baselines only read bytes, so
# they run on the first shape only.
readonly CASES=(certsweep-bundle certsweep-manifest openssl-storeutl sha256-bundle sha256-files)
readonly CERTSWEEP_CASES=(certsweep-bundle certsweep-manifest)

# Samples per "N|shape|case": space-separated "seconds:kib:disk_kib" triples.
declare -A SAMPLES=()
# Per "N|shape": space-separated manifest / bundle time ratios of the back-to-back pairs.
declare -A PAIR_RATIOS=()
# Per "N|shape": KiB read from disk during each scan of the pairs.
declare -A PAIR_DISK=()

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 2; }

check_args() {
    [[ -n "${EPOCHREALTIME:-}" ]] || die "bash 5 or later needed (EPOCHREALTIME)"
    [[ -f Cargo.toml && -d benches ]] || die "run from the crate root (benches/run.sh)"
    [[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer, got '$REPS'"
    [[ "$PAIRS" =~ ^[0-9]+$ ]] || die "BENCH_PAIRS must be 0 or a positive integer, got '$PAIRS'"
    local n shape
    for n in "$@"; do
        [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$n'"
    done
    [[ ${#SHAPES[@]} -gt 0 ]] || die "BENCH_SHAPES is empty"
    for shape in "${SHAPES[@]}"; do
        [[ "$shape" =~ ^([1-9][0-9]*|distinct)$ ]] ||
            die "BENCH_SHAPES: a key count or 'distinct', got '$shape'"
    done
}

# The corpus directory of N certificates in a key-sharing shape.
corpus_dir() { echo "$CORPUS_ROOT/$1-keys$2"; }

# The cases measured on a shape.
shape_cases() {
    if [[ "$1" == "${SHAPES[0]}" ]]; then echo "${CASES[@]}"; else echo "${CERTSWEEP_CASES[@]}"; fi
}

# GNU time gives peak RSS; bash's `time` keyword cannot.
ensure_gnu_time() {
    [[ -x /usr/bin/time ]] && return
    if [[ "$(id -u)" == 0 ]] && command -v apt-get > /dev/null; then
        log "installing GNU time (Debian package 'time')"
        apt-get update -qq && apt-get install -y -qq time > /dev/null
    else
        die "/usr/bin/time missing: install the Debian package 'time'"
    fi
}

# Two cargo invocations on purpose: building the example in the same invocation would unify
# its dev-dependency features into certsweep's dependencies, so the benchmarked binary could
# differ from a plain `cargo build --release`.
build() {
    log "building release binaries"
    cargo build --release --bin certsweep
    cargo build --release --example gen-corpus
}

# Generates into a temporary directory and renames it, so an existing corpus dir is complete.
ensure_corpus() {
    local n="$1" shape="$2" dir
    dir="$(corpus_dir "$n" "$shape")"
    if [[ -d "$dir" ]]; then
        log "corpus N=$n keys=$shape: reusing $dir"
        return
    fi
    mkdir -p "$CORPUS_ROOT"
    rm -rf "$dir.tmp"
    "$GEN_CORPUS" "$n" "$dir.tmp" --keys "$shape"
    mv "$dir.tmp" "$dir"
}

# Pulls what a case reads into the page cache, right before the case runs. Warming each
# corpus once per N was not enough on the 2-core VM these figures come from: its page cache
# shrank by ~1.8 MB/s while the machine was idle (no reclaim counted in /proc/vmstat), and
# 10-20 minutes after warming, 22 % of a 100,000-file corpus had to be read from disk again.
# A per-file scan pays for every such file with a wait; a bundle scan reads ahead.
warm_case() {
    local case="$1" dir="$2"
    # The program too: its code is paged in from the file as it runs.
    [[ "$case" == certsweep-* ]] && cat "$CERTSWEEP" > /dev/null
    case "$case" in
        certsweep-manifest | sha256-files)
            cat "$dir/manifest.json" > /dev/null
            find "$dir/certs" -type f -print0 | xargs -0 cat > /dev/null ;;
        *)
            cat "$dir/bundle.pem" > /dev/null ;;
    esac
}

# KiB read from disk by the whole machine so far (pgpgin), or 0 when it cannot be read.
disk_kib() {
    awk '$1 == "pgpgin" { print $2; found = 1 } END { if (!found) print 0 }' /proc/vmstat 2> /dev/null ||
        echo 0
}

# Sets CMD to the argv of one case. The per-file floor is a pipeline, so it runs under bash;
# everything else is exec'd directly by GNU time.
case_command() {
    local case="$1" dir="$2"
    case "$case" in
        certsweep-bundle)
            # One file of N certificates: past 100,000 the per-input cap must be raised.
            CMD=("$CERTSWEEP" scan "$dir/bundle.pem" --uploaded-at "$UPLOADED_AT"
                --cutoff "$CUTOFF" --now "$NOW" --format ndjson --max-certs-per-input 100000000) ;;
        certsweep-manifest)
            CMD=("$CERTSWEEP" scan --manifest "$dir/manifest.json"
                --cutoff "$CUTOFF" --now "$NOW" --format ndjson) ;;
        openssl-storeutl)
            CMD=(openssl storeutl -noout -text -certs "$dir/bundle.pem") ;;
        sha256-bundle)
            CMD=(sha256sum "$dir/bundle.pem") ;;
        sha256-files)
            # shellcheck disable=SC2016  # $1 is expanded by the inner bash, not here.
            CMD=(bash -c 'set -o pipefail; find "$1" -type f -print0 | xargs -0 cat | sha256sum'
                _ "$dir/certs") ;;
        *)
            die "unknown case $case" ;;
    esac
}

# certsweep exits 1 when something needs action: that is a successful scan.
allowed_exit_codes() {
    case "$1" in
        certsweep-*) echo "0 1" ;;
        *) echo "0" ;;
    esac
}

# Times one run of a case with stdout discarded, its input just read into the page cache;
# prints "seconds:kib:disk_kib", the last being what the machine read from disk meanwhile
# (0 when the cache held everything).
# Peak RSS comes from GNU time (%M); for the pipeline case that is the largest single process,
# not the sum. Wall time comes from bash's microsecond clock around the same call, because
# GNU time's %e has 10 ms resolution, too coarse for the sha256 floor at small N. The
# fork/exec of /usr/bin/time itself (well under 1 ms) is included.
time_case() {
    local case="$1" dir="$2" out rc=0 start end disk_start disk_end
    local -a CMD
    case_command "$case" "$dir"
    out="$(mktemp)"
    warm_case "$case" "$dir"
    disk_start="$(disk_kib)"
    start="$EPOCHREALTIME"
    /usr/bin/time -f '%e %M' -o "$out" "${CMD[@]}" > /dev/null || rc=$?
    end="$EPOCHREALTIME"
    disk_end="$(disk_kib)"
    if [[ " $(allowed_exit_codes "$case") " != *" $rc "* ]]; then
        rm -f "$out"
        die "case $case on $dir exited with status $rc: ${CMD[*]}"
    fi
    # GNU time writes "Command exited with non-zero status N" first when rc != 0.
    tail -n 1 "$out" | awk -v start="$start" -v end="$end" -v disk="$((disk_end - disk_start))" \
        '{ printf "%.6f:%s:%d\n", end - start, $2, disk }'
    rm -f "$out"
}

# Interleaves repetitions across cases, so slow drift (thermal, background load) hits all
# cases alike instead of biasing whichever ran last.
measure_n() {
    local n="$1" rep case sample shape dir secs kib disk
    for ((rep = 1; rep <= REPS; rep++)); do
        for shape in "${SHAPES[@]}"; do
            dir="$(corpus_dir "$n" "$shape")"
            for case in $(shape_cases "$shape"); do
                sample="$(time_case "$case" "$dir")"
                IFS=: read -r secs kib disk <<< "$sample"
                log "  N=$n keys=$shape rep $rep/$REPS $case: $secs s, $kib KiB, $disk KiB read from disk"
                SAMPLES["$n|$shape|$case"]+="$sample "
            done
        done
    done
}

# The manifest / bundle ratio measured the way two programs are compared on a machine whose
# speed drifts: many pairs, each run back to back, the order swapped every pair (so neither
# always runs second), nothing else in between. The interleaved repetitions above give only
# BENCH_REPS samples of each scan, minutes apart, with the openssl baseline (20 s at
# N = 100,000) and the other shapes in between.
measure_pairs() {
    local n="$1" shape dir i m b ratio
    for shape in "${SHAPES[@]}"; do
        dir="$(corpus_dir "$n" "$shape")"
        for ((i = 1; i <= PAIRS; i++)); do
            if ((i % 2)); then
                m="$(time_case certsweep-manifest "$dir")"
                b="$(time_case certsweep-bundle "$dir")"
            else
                b="$(time_case certsweep-bundle "$dir")"
                m="$(time_case certsweep-manifest "$dir")"
            fi
            ratio="$(awk -v m="${m%%:*}" -v b="${b%%:*}" 'BEGIN { printf "%.4f", m / b }')"
            log "  N=$n keys=$shape pair $i/$PAIRS: manifest ${m%%:*} s (${m##*:} KiB from disk)," \
                "bundle ${b%%:*} s (${b##*:} KiB from disk), ratio $ratio"
            PAIR_RATIOS["$n|$shape"]+="$ratio "
            PAIR_DISK["$n|$shape"]+="${m##*:} ${b##*:} "
        done
    done
}

print_pair_ratios() {
    local n shape stats disk
    [[ "$PAIRS" -gt 0 ]] || return 0
    echo
    echo "Manifest / bundle time in $PAIRS back-to-back pairs per N and shape (order swapped every pair):"
    for n in "$@"; do
        for shape in "${SHAPES[@]}"; do
            # shellcheck disable=SC2086  # word splitting wanted: one number per line.
            read -r -a stats <<< "$(printf '%s\n' ${PAIR_RATIOS["$n|$shape"]} | spread)"
            # shellcheck disable=SC2086
            read -r _ _ _ _ disk <<< "$(printf '%s\n' ${PAIR_DISK["$n|$shape"]} | spread)"
            printf -- '- N=%d keys=%s: median %.2f (quartiles %.2f-%.2f, range %.2f-%.2f); disk read during a scan: at most %d KiB\n' \
                "$n" "$shape" "${stats[@]}" "$disk"
        done
    done
}

# spread: numbers on stdin, one per line; prints "median q1 q3 min max" (quartiles and the
# median interpolated between neighbours, so the median of an even count is the mean of the
# middle two).
spread() {
    sort -g | awk '
        { v[NR] = $1 }
        function at(p,   i, f) { i = 1 + (NR - 1) * p; f = int(i); return v[f] + (i - f) * (v[f + 1] - v[f]) }
        END { v[NR + 1] = v[NR]; print at(0.5), at(0.25), at(0.75), v[1], v[NR] }'
}

# field N SHAPE CASE FIELD: one field of the samples, one per line; 1 = seconds, 2 = KiB,
# 3 = KiB read from disk.
field() {
    local -a samples
    read -r -a samples <<< "${SAMPLES["$1|$2|$3"]}"
    printf '%s\n' "${samples[@]}" | cut -d: -f"$4"
}

# median N SHAPE CASE FIELD: the median of one field of the samples.
median() {
    local med
    read -r med _ <<< "$(field "$@" | spread)"
    echo "$med"
}

median_secs() { median "$1" "$2" "$3" 1; }
median_kib() { median "$1" "$2" "$3" 2; }

# max_disk N SHAPE CASE: the most KiB read from disk during any repetition of a case.
max_disk() {
    local max
    read -r _ _ _ _ max <<< "$(field "$1" "$2" "$3" 3 | spread)"
    echo "$max"
}

# The floor that matches a case's file layout: one bundle file or one file per certificate.
floor_case() {
    case "$1" in
        certsweep-manifest | sha256-files) echo sha256-files ;;
        *) echo sha256-bundle ;;
    esac
}

print_table() {
    local n shape case secs kib base openssl_secs floor_secs dsecs dkib disk
    echo "| N | keys | case | median s | certs/s | peak RSS MiB | speedup vs openssl storeutl | × sha256 floor | time × distinct | RSS × distinct | disk read KiB, max |"
    echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for n in "$@"; do
        base="${SHAPES[0]}"
        openssl_secs="$(median_secs "$n" "$base" openssl-storeutl)"
        for shape in "${SHAPES[@]}"; do
            for case in $(shape_cases "$shape"); do
                secs="$(median_secs "$n" "$shape" "$case")"
                kib="$(median_kib "$n" "$shape" "$case")"
                floor_secs="$(median_secs "$n" "$base" "$(floor_case "$case")")"
                disk="$(max_disk "$n" "$shape" "$case")"
                dsecs=0 dkib=0
                if [[ " ${SHAPES[*]} " == *" distinct "* && "$case" == certsweep-* ]]; then
                    dsecs="$(median_secs "$n" distinct "$case")"
                    dkib="$(median_kib "$n" distinct "$case")"
                fi
                awk -v n="$n" -v shape="$shape" -v c="$case" -v t="$secs" -v kib="$kib" \
                    -v o="$openssl_secs" -v f="$floor_secs" -v dt="$dsecs" -v dk="$dkib" -v disk="$disk" '
                    function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "n/a" }
                    BEGIN {
                        rate = t > 0 ? sprintf("%.0f", n / t) : "n/a"
                        printf "| %d | %s | %s | %.3f | %s | %.1f | %s | %s | %s | %s | %d |\n",
                            n, shape, c, t, rate, kib / 1024, ratio(o, t), ratio(t, f),
                            ratio(t, dt), ratio(kib, dk), disk
                    }'
            done
        done
    done
}

# Per N and shape: the per-file manifest scan's time over the bundle scan's, two ways: the
# ratio of the two medians, and the median of the ratios within each repetition (the two
# scans run back to back, so a change of the machine's speed between repetitions cancels).
print_manifest_ratio() {
    local n shape
    for n in "$@"; do
        for shape in "${SHAPES[@]}"; do
            awk -v n="$n" -v shape="$shape" \
                -v m="$(median_secs "$n" "$shape" certsweep-manifest)" \
                -v b="$(median_secs "$n" "$shape" certsweep-bundle)" \
                -v paired="$(paired_ratio_median "$n" "$shape" certsweep-manifest certsweep-bundle)" '
                BEGIN {
                    printf "- N=%d keys=%s: manifest / bundle time %.2f (median of per-repetition ratios %.2f)\n",
                        n, shape, m / b, paired
                }'
        done
    done
}

# paired_ratio_median N SHAPE CASE_A CASE_B: the median over repetitions of A's time / B's.
paired_ratio_median() {
    local -a a b
    read -r -a a <<< "${SAMPLES["$1|$2|$3"]}"
    read -r -a b <<< "${SAMPLES["$1|$2|$4"]}"
    local i med
    read -r med _ <<< "$(for i in "${!a[@]}"; do
        printf '%s %s\n' "${a[$i]%%:*}" "${b[$i]%%:*}"
    done | awk '{ print $1 / $2 }' | spread)"
    echo "$med"
}

# Peak-RSS slope of the certsweep bundle scan: how much memory each extra certificate costs.
print_memory_growth() {
    local small="$1" large="$2" shape
    if [[ "$small" == "$large" ]]; then
        echo "Memory growth per certificate: n/a (needs two different N)."
        return
    fi
    for shape in "${SHAPES[@]}"; do
        awk -v ns="$small" -v nl="$large" -v shape="$shape" \
            -v rs="$(median_kib "$small" "$shape" certsweep-bundle)" \
            -v rl="$(median_kib "$large" "$shape" certsweep-bundle)" '
            BEGIN {
                printf "- memory growth per certificate (certsweep-bundle, keys=%s, N=%d to N=%d): %.3f KiB\n",
                    shape, ns, nl, (rl - rs) / (nl - ns)
            }'
    done
}

print_report() {
    local sorted=("$@")
    echo "# certsweep benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- host: $(nproc) cores, $(uname -sr)"
    echo "- certsweep: $(git describe --always --dirty 2> /dev/null || echo 'unknown revision')"
    echo "- baseline: $(openssl version)"
    echo "- median of $REPS runs per case, warm page cache, all cases measured in this run"
    echo "  ($PAIRS back-to-back manifest/bundle pairs per N and shape after them)"
    echo "- speedup = openssl storeutl time / case time; × floor = case time / sha256 time"
    echo "  (bundle cases against sha256sum of bundle.pem, per-file cases against cat certs/* | sha256sum)"
    echo
    print_table "${sorted[@]}"
    echo
    print_manifest_ratio "${sorted[@]}"
    print_memory_growth "${sorted[0]}" "${sorted[-1]}"
    print_pair_ratios "${sorted[@]}"
}

main() {
    local ns=("$@")
    [[ ${#ns[@]} -gt 0 ]] || ns=(10000 100000)
    check_args "${ns[@]}"
    ensure_gnu_time
    build
    [[ -x "$CERTSWEEP" ]] || die "$CERTSWEEP not found after build"
    [[ -x "$GEN_CORPUS" ]] || die "$GEN_CORPUS not found after build"

    local sorted n shape
    mapfile -t sorted < <(printf '%s\n' "${ns[@]}" | sort -n -u)
    for n in "${sorted[@]}"; do
        for shape in "${SHAPES[@]}"; do
            ensure_corpus "$n" "$shape"
        done
        log "measuring N=$n ($REPS repetitions)"
        measure_n "$n"
        if [[ "$PAIRS" -gt 0 ]]; then
            log "measuring N=$n manifest / bundle ($PAIRS pairs per shape)"
            measure_pairs "$n"
        fi
    done

    local results
    results="benches/results-$(date +%Y%m%d-%H%M).md"
    print_report "${sorted[@]}" | tee "$results"
    log "results written to $results"
}

main "$@"
