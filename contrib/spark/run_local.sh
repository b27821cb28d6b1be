#!/usr/bin/env bash
# Runs contrib/spark/certsweep_spark.py in Spark local mode on a generated NDJSON corpus and
# checks that the merged summary equals a single-process `certsweep scan --stream` of the same
# corpus, and that the exit codes agree. Not part of `cargo test`.
#
#   pip install pyspark   # and Java 17
#   contrib/spark/run_local.sh [N] [PARTITIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200000}
PARTS=${2:-8}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release >&2
cargo build --release --example gen-ndjson >&2
BIN=$(realpath "$TARGET/release/certsweep")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FLAGS=(--cutoff 2016-11-01 --now 2019-01-01T00:00:00Z --format ndjson)

# A corpus with shared keys: 20,000 signed certificates (on ~1,000 keys) under N ids.
"$TARGET/release/examples/gen-ndjson" "$N" --pool 20000 > "$WORK/corpus.ndjson"
# Two bad lines: they must be counted the same way on both sides.
echo 'not json' >> "$WORK/corpus.ndjson"
echo '{"id":"bad","der_b64":"AAAA"}' >> "$WORK/corpus.ndjson"

set +e
/usr/bin/time -f "single process: %e s wall, %U s user, %S s sys, %M KB peak" \
    "$BIN" scan --stream "$WORK/corpus.ndjson" --summary-only "${FLAGS[@]}" \
    > "$WORK/single.ndjson" 2> >(grep -v '^certsweep: error' >&2)
single_code=$?
start=$(date +%s.%N)
spark-submit --master "local[2]" contrib/spark/certsweep_spark.py --certsweep "$BIN" \
    --input "$WORK/corpus.ndjson" --partitions "$PARTS" --cutoff 2016-11-01 \
    --now 2019-01-01T00:00:00Z --out "$WORK/merged.ndjson" > "$WORK/spark.log" 2>&1
spark_code=$?
set -e
end=$(date +%s.%N)
grep '^certsweep-spark' "$WORK/spark.log" >&2 || { tail -30 "$WORK/spark.log" >&2; exit 1; }
echo "spark local[2], $PARTS partitions: $(echo "$end - $start" | bc) s wall (JVM start included)" >&2

python3 - "$WORK/single.ndjson" "$WORK/merged.ndjson" "$single_code" "$spark_code" <<'PY'
import json, sys
single = json.loads(open(sys.argv[1]).read())
merged = json.loads(open(sys.argv[2]).read())
skip = {"stream", "merged_summaries", "tool"}
a = {k: v for k, v in single.items() if k not in skip}
b = {k: v for k, v in merged.items() if k not in skip}
print("single:", json.dumps(a, sort_keys=True))
print("spark :", json.dumps(b, sort_keys=True))
print("partition summaries merged:", merged.get("merged_summaries"))
assert a == b, "the merged Spark summary differs from the single process"
assert sys.argv[3] == sys.argv[4], "exit codes differ: %s vs %s" % (sys.argv[3], sys.argv[4])
assert a["certificates"] > 0 and a["errors"] == 2 and a["key_reused"] > 0 and a["exposed"] > 0
print("OK: Spark map + certsweep merge == single-process scan --stream (exit code %s)" % sys.argv[3])
PY
