#!/usr/bin/env bash
# Times 100 issue+revoke cycles of `certsweep rotate` against a real ACME server (pebble, on
# loopback), one certsweep process per step as a person or a script would run them; and,
# when certbot is installed, one certbot issue+revoke cycle on the same pebble as the peer.
#
# Usage (from the crate root): benches/acme.sh [N]   (N cycles, default 100)
# Needs: pebble (apt-get install pebble), openssl, curl, python3; certbot optional.
#
# A cycle: `rotate issue ITEM` (order, http-01 answered by pebble's always-valid mode,
# finalize with the CSR on disk, download, the import checks) then `rotate revoke ITEM
# --old-key KEY --force --reason bench` (revokeCert signed by the old certificate's own key).
# The old certificates were issued by this pebble first (an untimed `rotate issue --all`).
set -euo pipefail
export LC_ALL=C

readonly N="${1:-100}"
readonly TARGET_DIR="${CARGO_TARGET_DIR:-target}"
readonly CERTSWEEP="$PWD/$TARGET_DIR/release/certsweep"

log() { printf '%s\n' "$*" >&2; }
command -v pebble > /dev/null || { log "pebble is not installed: apt-get install pebble"; exit 2; }

cargo build --release --quiet
tmp=$(mktemp -d)
pebble_pid=""
cleanup() {
    [[ -n "$pebble_pid" ]] && kill "$pebble_pid" 2> /dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Pebble's own TLS certificate (it ships none).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench pebble CA" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2> /dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2> /dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$tmp/ext"
openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
    -days 2 -extfile "$tmp/ext" -out "$tmp/tls.pem" 2> /dev/null
port=$(free_port)
mgmt=$(free_port)
cat > "$tmp/pebble.json" << EOF
{"pebble": {"listenAddress": "127.0.0.1:$port", "managementListenAddress": "127.0.0.1:$mgmt",
 "certificate": "$tmp/tls.pem", "privateKey": "$tmp/tls.key", "httpPort": 5002, "tlsPort": 5001,
 "ocspResponderURL": "", "externalAccountBindingRequired": false}}
EOF
PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
    pebble -config "$tmp/pebble.json" > "$tmp/pebble.log" 2>&1 &
pebble_pid=$!
until curl -s --cacert "$tmp/ca.pem" "https://127.0.0.1:$port/dir" > /dev/null; do sleep 0.05; done
curl -s --cacert "$tmp/ca.pem" "https://127.0.0.1:$mgmt/roots/0" > "$tmp/root.pem"
dir="https://127.0.0.1:$port/dir"
acme=(--acme-directory "$dir" --acme-roots "$tmp/ca.pem")

# N old certificates issued by pebble (untimed): self-signed ones made now, "uploaded" now
# before a cutoff an hour ahead, rotated once.
mkdir -p "$tmp/boot" "$tmp/www"
boot_uploaded=$(date -u +%FT%TZ)
boot_cutoff=$(date -u -d '+1 hour' +%FT%TZ)
python3 - "$tmp" "$N" "$boot_uploaded" << 'EOF'
import json, subprocess, sys
tmp, n, uploaded = sys.argv[1], int(sys.argv[2]), sys.argv[3]
items = []
for i in range(n):
    host = f"host{i:04d}.bench.test"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host}",
                    "-days", "30",
                    "-keyout", f"{tmp}/boot/{host}.key", "-out", f"{tmp}/boot/{host}.pem"],
                   check=True, capture_output=True)
    items.append({"id": host, "file": f"{tmp}/boot/{host}.pem", "uploaded_at": uploaded, "host": host})
json.dump(items, open(f"{tmp}/boot/manifest.json", "w"))
EOF
boot=(rotate --state "$tmp/boot/plan.json")
"$CERTSWEEP" -q "${boot[@]}" init --manifest "$tmp/boot/manifest.json" --cutoff "$boot_cutoff" --allow-future-cutoff
"$CERTSWEEP" -q "${boot[@]}" csr --all
"$CERTSWEEP" -q "${boot[@]}" issue --all "${acme[@]}" --roots "$tmp/root.pem" --http01-webroot "$tmp/www"

# The plan timed: its old certificates are the ones pebble just issued, uploaded after that.
sleep 1
uploaded=$(date -u +%FT%TZ)
sleep 1
cutoff=$(date -u +%FT%TZ)
mkdir -p "$tmp/run"
python3 - "$tmp" "$uploaded" << 'EOF'
import json, os, sys
tmp, uploaded = sys.argv[1], sys.argv[2]
plan = json.load(open(f"{tmp}/boot/plan.json"))
items, keys = [], {}
for it in plan["items"]:
    cert = os.path.join(f"{tmp}/boot", it["issued"]["cert_path"])
    key = os.path.join(f"{tmp}/boot", it["csr"]["key_path"])
    items.append({"id": it["host"], "file": cert, "uploaded_at": uploaded, "host": it["host"]})
    keys[it["host"]] = key
json.dump(items, open(f"{tmp}/run/manifest.json", "w"))
with open(f"{tmp}/run/keys", "w") as f:
    for host, key in keys.items():
        f.write(f"{host} {key}\n")
EOF
run=(rotate --state "$tmp/run/plan.json")
"$CERTSWEEP" -q "${run[@]}" init --manifest "$tmp/run/manifest.json" --cutoff "$cutoff"
"$CERTSWEEP" -q "${run[@]}" csr --all
# One account for the run, made before timing (as on a second day of work).
mapfile -t ids < <(python3 -c 'import json,sys; [print(i["id"], i["host"]) for i in json.load(open(sys.argv[1]))["items"]]' "$tmp/run/plan.json")

issue_total=0
revoke_total=0
start_all="$EPOCHREALTIME"
for line in "${ids[@]}"; do
    read -r id host <<< "$line"
    key=$(awk -v h="$host" '$1 == h { print $2 }' "$tmp/run/keys")
    t0="$EPOCHREALTIME"
    "$CERTSWEEP" -q "${run[@]}" issue "$id" "${acme[@]}" --roots "$tmp/root.pem" --http01-webroot "$tmp/www"
    t1="$EPOCHREALTIME"
    "$CERTSWEEP" -q "${run[@]}" revoke "$id" "${acme[@]}" --old-key "$key" --force --reason bench
    t2="$EPOCHREALTIME"
    issue_total=$(awk -v a="$issue_total" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.3f", a + e - s }')
    revoke_total=$(awk -v a="$revoke_total" -v s="$t1" -v e="$t2" 'BEGIN { printf "%.3f", a + e - s }')
done
end_all="$EPOCHREALTIME"
total=$(awk -v s="$start_all" -v e="$end_all" 'BEGIN { printf "%.3f", e - s }')

# Every old certificate is revoked for keyCompromise at pebble.
revoked=$(python3 - "$tmp" "$mgmt" << 'EOF'
import json, ssl, sys, urllib.request
tmp, mgmt = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=f"{tmp}/ca.pem")
plan = json.load(open(f"{tmp}/run/plan.json"))
ok = 0
for it in plan["items"]:
    serial = it["old"]["serial"].replace(":", "").lower().lstrip("0")
    st = json.load(urllib.request.urlopen(f"https://127.0.0.1:{mgmt}/cert-status-by-serial/{serial}", context=ctx))
    ok += st["Status"] == "Revoked" and st["Reason"] == 1
print(ok)
EOF
)

certbot_line="| certbot (1 cycle: certonly --webroot + revoke --reason keycompromise) | not installed | | |"
if command -v certbot > /dev/null; then
    cb="$tmp/certbot"
    mkdir -p "$cb"
    export REQUESTS_CA_BUNDLE="$tmp/ca.pem"
    cbargs=(--config-dir "$cb/etc" --work-dir "$cb/work" --logs-dir "$cb/logs" --server "$dir" --non-interactive)
    t0="$EPOCHREALTIME"
    certbot "${cbargs[@]}" register --agree-tos --register-unsafely-without-email > /dev/null 2>&1
    t1="$EPOCHREALTIME"
    certbot "${cbargs[@]}" certonly --webroot -w "$tmp/www" -d certbot.bench.test > "$cb/issue.log" 2>&1 ||
        { log "certbot certonly failed:"; cat "$cb/issue.log" >&2; exit 1; }
    t2="$EPOCHREALTIME"
    certbot "${cbargs[@]}" revoke --cert-path "$cb/etc/live/certbot.bench.test/cert.pem" \
        --key-path "$cb/etc/live/certbot.bench.test/privkey.pem" --reason keycompromise --no-delete-after-revoke > "$cb/revoke.log" 2>&1 ||
        { log "certbot revoke failed:"; cat "$cb/revoke.log" >&2; exit 1; }
    t3="$EPOCHREALTIME"
    certbot_line=$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
        'BEGIN { printf "| certbot (1 cycle: certonly --webroot + revoke with the certificate key; account made before) | %.3f | %.3f | %.3f |", (d - b), (c - b), (d - c) }')
fi

printf '\n%s cycles against pebble %s (loopback), %s\n\n' "$N" "$(dpkg-query -W -f '${Version}' pebble 2> /dev/null || echo '?')" "$(date -u +%F)"
printf '| case | total s | issue s | revoke s |\n|---|---:|---:|---:|\n'
printf '| certsweep, %s cycles (one process per step) | %s | %s | %s |\n' "$N" "$total" "$issue_total" "$revoke_total"
awk -v n="$N" -v t="$total" -v i="$issue_total" -v r="$revoke_total" \
    'BEGIN { printf "| certsweep, per cycle | %.3f | %.3f | %.3f |\n", t / n, i / n, r / n }'
printf '%s\n' "$certbot_line"
printf '\nold certificates pebble shows Revoked with reason 1: %s of %s\n' "$revoked" "$N"
