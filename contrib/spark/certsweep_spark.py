"""certsweep as the map step of Apache Spark; `certsweep merge` as the reduce step.

    spark-submit [--master ...] [--files exposed-keys.txt] certsweep_spark.py \
        --certsweep /path/to/certsweep --input 'shards/*.ndjson' --cutoff 2016-11-01 \
        --now 2026-11-01T00:00:00Z --out merged-summary.ndjson [--exposed-keys exposed-keys.txt] \
        [--records-out DIR] [--partitions N]

Input: NDJSON lines {"id", "der_b64"|"pem", "uploaded_at", "host", "account"} (one certificate
per line). Each partition is piped through `certsweep scan --stream -`:

1. build side (skipped when --exposed-keys names a list shipped with --files): every partition
   runs `scan --stream --exposed-keys-only` (its first pass only: the SHA-256 of every key
   exposed before the cutoff); the union is written to a file and shipped to the executors
   with SparkContext.addFile (what `--files` does);
2. map: every partition runs `scan --stream --exposed-keys LIST --summary-only` (or, with
   --records-out, the full NDJSON records, saved with saveAsTextFile);
3. reduce: the partitions' summary lines go through one `certsweep merge` call on the driver.

The merged summary is written to --out; the job exits with certsweep's code (0 clean,
1 action required, 2 incomplete).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading

from pyspark import SparkConf, SparkContext, SparkFiles


def pipe_partition(binary_name, args):
    """A mapPartitions function: feeds the partition's lines to certsweep, yields its output."""

    def run(lines):
        binary = SparkFiles.get(binary_name)
        os.chmod(binary, 0o755)
        resolved = [SparkFiles.get(a[len("spark-file:"):]) if a.startswith("spark-file:") else a
                    for a in args]
        proc = subprocess.Popen([binary] + resolved, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def feed():
            try:
                for line in lines:
                    proc.stdin.write(line.encode("utf-8") + b"\n")
            except BrokenPipeError:
                pass
            finally:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass

        errors = []
        drain = threading.Thread(target=lambda: errors.append(proc.stderr.read()))
        writer = threading.Thread(target=feed)
        drain.start()
        writer.start()
        for out in proc.stdout:
            yield out.decode("utf-8").rstrip("\n")
        writer.join()
        drain.join()
        code = proc.wait()
        # 0 clean, 1 action required, 2 incomplete (bad lines: still a summary, complete=false).
        if code not in (0, 1, 2):
            raise RuntimeError("certsweep exited with %d: %s" % (code, b"".join(errors)[-2000:]))

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--certsweep", required=True, help="the certsweep binary (shipped to executors)")
    ap.add_argument("--input", required=True, help="NDJSON file(s), any Hadoop path or glob")
    ap.add_argument("--cutoff", required=True)
    ap.add_argument("--now", required=True, help="fixed clock, so every executor judges alike")
    ap.add_argument("--out", required=True, help="where to write the merged summary (NDJSON)")
    ap.add_argument("--exposed-keys", help="a precomputed list shipped with --files: skips step 1")
    ap.add_argument("--records-out", help="save every record (NDJSON) under this directory")
    ap.add_argument("--partitions", type=int, default=None)
    a = ap.parse_args()

    sc = SparkContext(conf=SparkConf().setAppName("certsweep"))
    sc.setLogLevel("WARN")
    sc.addFile(a.certsweep)
    binary_name = os.path.basename(a.certsweep)
    common = ["--cutoff", a.cutoff, "--now", a.now, "--format", "ndjson"]
    lines = sc.textFile(a.input, minPartitions=a.partitions) if a.partitions else sc.textFile(a.input)

    if a.exposed_keys:
        keys_name = os.path.basename(a.exposed_keys)
        if not os.path.exists(SparkFiles.get(keys_name)):
            sc.addFile(a.exposed_keys)
    else:
        keys = (lines.mapPartitions(pipe_partition(
                    binary_name, ["scan", "--stream", "-", "--exposed-keys-only"] + common))
                .distinct()
                .collect())
        tmp = tempfile.NamedTemporaryFile("w", prefix="certsweep-exposed-", suffix=".txt",
                                          delete=False)
        with tmp:
            tmp.write("# certsweep exposed public keys (SHA-256 of SubjectPublicKeyInfo)\n")
            tmp.write("\n".join(sorted(keys)) + "\n")
        print("certsweep-spark: %d exposed keys from step 1" % len(keys), file=sys.stderr)
        sc.addFile(tmp.name)
        keys_name = os.path.basename(tmp.name)

    scan = ["scan", "--stream", "-", "--exposed-keys", "spark-file:" + keys_name] + common
    if a.records_out:
        out = lines.mapPartitions(pipe_partition(binary_name, scan)).cache()
        out.filter(lambda l: not l.startswith('{"type":"summary"')).saveAsTextFile(a.records_out)
        summaries = out.filter(lambda l: l.startswith('{"type":"summary"')).collect()
    else:
        summaries = lines.mapPartitions(pipe_partition(binary_name, scan + ["--summary-only"])).collect()
    sc.stop()

    with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
        f.write("\n".join(summaries) + "\n")
    print("certsweep-spark: %d partition summaries" % len(summaries), file=sys.stderr)
    with open(a.out, "w") as out:
        code = subprocess.call([a.certsweep, "merge", f.name, "--format", "ndjson"], stdout=out)
    os.unlink(f.name)
    sys.exit(code)


if __name__ == "__main__":
    main()
