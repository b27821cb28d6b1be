#!/usr/bin/env python3
"""Cross-checks certsweep's certificate parsing against pyca/cryptography (and, for keys pyca
cannot load, `openssl x509 -text`) over certificates certsweep did not make.

Usage (from the crate root, after `cargo build --release`):

    python3 tests/crosscheck/crosscheck.py [--certsweep PATH] [DIR_OR_FILE ...]

Default inputs: /usr/share/ca-certificates (Debian `ca-certificates`) and the x509 folder of
the `cryptography_vectors` package (`pip install cryptography cryptography_vectors`).

Every file pyca reads as one or more certificates (PEM blocks or one DER certificate) is
compared with certsweep's `inspect --format json` record of the same certificate (matched by
SHA-256 fingerprint), field by field: serial, not_before, not_after, dns/ip/email/uri SANs,
SPKI SHA-256, key algorithm, key bits, EC curve, CA flag. A field pyca itself cannot read on
a certificate (it raises) is not counted for that certificate; a certificate pyca reads and
certsweep does not is counted as a disagreement on every field.

Prints a Markdown agreement table and every disagreement with both values. Exit status 0
when every field agrees on at least --target percent (default 99.9) of certificates.
"""

import argparse
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys
import warnings
from collections import defaultdict

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

NOW = "2026-11-01T00:00:00Z"
FIELDS = [
    "serial",
    "not_before",
    "not_after",
    "dns_names",
    "ip_addresses",
    "emails",
    "uris",
    "spki_sha256",
    "key_algorithm",
    "key_bits",
    "key_curve",
    "is_ca",
]
CURVES = {
    "secp192r1": "P-192",
    "secp224r1": "P-224",
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
    "secp256k1": "secp256k1",
    "brainpoolP256r1": "brainpoolP256r1",
    "brainpoolP384r1": "brainpoolP384r1",
    "brainpoolP512r1": "brainpoolP512r1",
}


class Unknown(Exception):
    """pyca could not give this field for this certificate."""


def default_inputs():
    inputs = ["/usr/share/ca-certificates"]
    # CPython's own test certificates (Lib/test: odd SANs, NUL bytes, expired, IDNA).
    import test

    inputs.append(os.path.dirname(test.__file__))
    try:
        import cryptography_vectors

        inputs.append(os.path.join(os.path.dirname(cryptography_vectors.__file__), "x509"))
    except ImportError:
        print("note: cryptography_vectors not installed; only ca-certificates", file=sys.stderr)
    return inputs


def files_under(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for n in sorted(names):
                    yield os.path.join(root, n)
        elif os.path.isfile(p):
            yield p


def pyca_certs(path):
    """The certificates pyca reads in a file: every PEM CERTIFICATE block, else one DER."""
    with open(path, "rb") as f:
        data = f.read()
    if b"-----BEGIN CERTIFICATE-----" in data or b"-----BEGIN X509 CERTIFICATE-----" in data:
        try:
            return x509.load_pem_x509_certificates(data)
        except Exception:
            # One bad block: read the good ones one by one.
            out = []
            for block in re.findall(
                rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", data, re.S
            ):
                try:
                    out.append(x509.load_pem_x509_certificate(block))
                except Exception:
                    pass
            return out
    try:
        return [x509.load_der_x509_certificate(data)]
    except Exception:
        return []


def serial_text(n):
    """certsweep's serial format: lowercase hex of whole bytes, '-' before a negative one."""
    digits = format(abs(n), "x")
    if len(digits) % 2:
        digits = "0" + digits
    return ("-" if n < 0 else "") + digits


def utc(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def raw_spki(tbs):
    """The SubjectPublicKeyInfo element of the TBS DER, as it is in the certificate."""

    def tlv(b, i):
        tag = b[i]
        ln = b[i + 1]
        j = i + 2
        if ln & 0x80:
            n = ln & 0x7F
            ln = int.from_bytes(b[j : j + n], "big")
            j += n
        return tag, j, j + ln  # tag, content start, end

    _, start, _ = tlv(tbs, 0)
    i = start
    fields = []
    while i < len(tbs) and len(fields) < 7:
        tag, s, e = tlv(tbs, i)
        if tag != 0xA0 or fields:
            fields.append((i, e))
        elif tag == 0xA0:
            pass
        i = e
    # serial, signature, issuer, validity, subject, spki
    s, e = fields[5]
    return tbs[s:e]


def openssl_text(path, fingerprint):
    """`openssl x509 -text` of the file's certificate with this fingerprint (the first
    certificate of a PEM file, or its DER certificate)."""
    with open(path, "rb") as f:
        data = f.read()
    form = "PEM" if b"-----BEGIN" in data else "DER"
    out = subprocess.run(
        ["openssl", "x509", "-inform", form, "-noout", "-text", "-fingerprint", "-sha256"],
        input=data,
        capture_output=True,
    )
    text = out.stdout.decode("utf-8", "replace")
    fp = re.search(r"Fingerprint=([0-9A-F:]+)", text)
    if out.returncode != 0 or not fp or fp.group(1).replace(":", "").lower() != fingerprint:
        raise Unknown("openssl reads another certificate or none")
    return text


def openssl_sans(text):
    """SANs and the CA flag from `openssl x509 -text`."""
    out = {"dns_names": [], "ip_addresses": [], "emails": [], "uris": []}
    kinds = {"DNS": "dns_names", "IP Address": "ip_addresses", "email": "emails", "URI": "uris"}
    # Every copy of the extension (a duplicated SAN is printed twice).
    for line in re.findall(r"X509v3 Subject Alternative Name:.*?\n\s+(.*)\n", text):
        for item in line.split(", "):
            kind, _, value = item.partition(":")
            if kind in kinds:
                out[kinds[kind]].append(value)
    out["is_ca"] = bool(re.search(r"X509v3 Basic Constraints:.*?\n\s+CA:TRUE", text))
    return out


def openssl_key(path, fingerprint):
    """Key algorithm and bits from `openssl x509 -text`, for keys pyca cannot load."""
    text = openssl_text(path, fingerprint)
    alg = re.search(r"Public Key Algorithm: (\S+)", text)
    bits = re.search(r"Public-Key: \((\d+) bit\)", text)
    names = {
        "rsaEncryption": "rsa",
        "rsassaPss": "rsa",
        "id-ecPublicKey": "ec",
        "dsaEncryption": "dsa",
        "ED25519": "ed25519",
        "ED448": "ed448",
    }
    if not alg:
        raise Unknown("openssl names no key algorithm")
    algorithm = names.get(alg.group(1), "unknown")
    curve = re.search(r"NIST CURVE: (\S+)", text)
    return {
        "key_algorithm": algorithm,
        "key_bits": int(bits.group(1)) if bits and algorithm not in ("ed25519", "ed448") else None,
        "key_curve": curve.group(1) if curve else None,
        "_source": "openssl",
    }


def expected(cert, path):
    """Field -> value (or Unknown) as pyca / openssl read them."""
    fingerprint = cert.fingerprint(hashes.SHA256()).hex()
    out = {"fingerprint": fingerprint}

    def get(name, fn):
        try:
            out[name] = fn()
        except Unknown as e:
            out[name] = e
        except Exception as e:  # pyca raises on what it cannot read
            out[name] = Unknown(f"pyca: {type(e).__name__}: {e}")

    get("serial", lambda: serial_text(cert.serial_number))
    get("not_before", lambda: utc(cert.not_valid_before_utc))
    get("not_after", lambda: utc(cert.not_valid_after_utc))

    def sans():
        try:
            ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return {"dns_names": [], "ip_addresses": [], "emails": [], "uris": []}
        return {
            "dns_names": ext.get_values_for_type(x509.DNSName),
            "ip_addresses": [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)],
            "emails": ext.get_values_for_type(x509.RFC822Name),
            "uris": ext.get_values_for_type(x509.UniformResourceIdentifier),
        }

    try:
        for k, v in sans().items():
            out[k] = v
    except Exception as e:
        # pyca parses every extension at once and refuses them all for one it dislikes
        # (an odd SCT, a policy, a duplicate): openssl reads the SANs and CA flag then.
        try:
            text = openssl_text(path, fingerprint)
            out.update(openssl_sans(text))
            out["_ext_source"] = "openssl"
        except Unknown as u:
            for k in ("dns_names", "ip_addresses", "emails", "uris", "is_ca"):
                out[k] = Unknown(f"pyca: {type(e).__name__}: {e}; openssl: {u}")

    def ca():
        try:
            return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            return False

    if out.get("_ext_source") != "openssl":
        get("is_ca", ca)

    # The SPKI hash is over the certificate's own SubjectPublicKeyInfo bytes. pyca gives no
    # accessor for them, and re-encoding its public key is not always faithful (an RSA-PSS
    # key comes back as rsaEncryption), so the reference is the SPKI element cut out of
    # pyca's TBS bytes; how often pyca's re-encoding equals it is reported.
    get("spki_sha256", lambda: hashlib.sha256(raw_spki(cert.tbs_certificate_bytes)).hexdigest())
    try:
        key = cert.public_key()
        reencoded = hashlib.sha256(
            key.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        ).hexdigest()
        out["_spki_source"] = "same" if reencoded == out["spki_sha256"] else "differs"
        if isinstance(key, rsa.RSAPublicKey):
            k = ("rsa", key.key_size, None)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            k = ("ec", key.curve.key_size, CURVES.get(key.curve.name, key.curve.name))
        elif isinstance(key, dsa.DSAPublicKey):
            k = ("dsa", key.key_size, None)
        elif isinstance(key, ed25519.Ed25519PublicKey):
            k = ("ed25519", None, None)
        elif isinstance(key, ed448.Ed448PublicKey):
            k = ("ed448", None, None)
        elif type(key).__name__.startswith("MLDSA"):
            k = ("ml-dsa-" + type(key).__name__[5:7], None, None)
        else:
            k = (type(key).__name__, None, None)
        out["key_algorithm"], out["key_bits"], out["key_curve"] = k
        if k[0] in ("ed25519", "ed448"):
            out["key_bits"] = Unknown("pyca gives no size for Edwards keys")
    except Exception as e:
        # pyca cannot load the key (unusual algorithms or parameters): the key's name and
        # size from openssl.
        out["_spki_source"] = "not loadable"
        try:
            out.update(openssl_key(path, fingerprint))
        except Unknown as u:
            for f in ("key_algorithm", "key_bits", "key_curve"):
                out[f] = Unknown(f"pyca: {type(e).__name__}: {e}; openssl: {u}")
    return out


def certsweep_records(binary, paths):
    """fingerprint -> record, per file, from `inspect --format json` (in batches)."""
    records = defaultdict(dict)
    batch = 200
    for i in range(0, len(paths), batch):
        part = paths[i : i + batch]
        run = subprocess.run(
            [binary, "inspect", "--format", "json", "--now", NOW, *part],
            capture_output=True,
        )
        if run.returncode not in (0, 2):
            sys.exit(f"certsweep inspect failed ({run.returncode}): {run.stderr[:500]!r}")
        report = json.loads(run.stdout)
        for c in report["certificates"]:
            records[c["path"]][c["fingerprint_sha256"]] = c
    return records


def actual(rec):
    key = rec.get("key") or {}
    return {
        "serial": rec["serial"],
        "not_before": rec["not_before"],
        "not_after": rec["not_after"],
        "dns_names": rec["dns_names"],
        "ip_addresses": rec["ip_addresses"],
        "emails": rec["emails"],
        "uris": rec["uris"],
        "spki_sha256": rec["spki_sha256"],
        "key_algorithm": key.get("algorithm"),
        "key_bits": key.get("bits"),
        "key_curve": key.get("curve"),
        "is_ca": rec["is_ca"],
    }


def same(field, want, got):
    if field == "ip_addresses":
        try:
            return [ipaddress.ip_address(x) for x in want] == [ipaddress.ip_address(x) for x in got]
        except ValueError:
            return want == got
    return want == got


def main():
    # pyca warns about each odd certificate (negative serials, NULL parameters); the table
    # says what matters.
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--certsweep", default="target/release/certsweep")
    ap.add_argument("--target", type=float, default=99.9)
    ap.add_argument("inputs", nargs="*")
    args = ap.parse_args()
    inputs = args.inputs or default_inputs()

    expected_by_file = {}
    for path in files_under(inputs):
        certs = pyca_certs(path)
        if certs:
            expected_by_file[path] = [expected(c, path) for c in certs]
    paths = sorted(expected_by_file)
    got = certsweep_records(args.certsweep, paths)

    agree = defaultdict(int)
    total = defaultdict(int)
    skipped = defaultdict(int)
    disagreements = []
    by_source = defaultdict(int)
    n_certs = 0
    for path in paths:
        for exp in expected_by_file[path]:
            n_certs += 1
            rec = got.get(path, {}).get(exp["fingerprint"])
            act = actual(rec) if rec else None
            by_source[exp.get("_spki_source", "?")] += 1
            for field in FIELDS:
                want = exp.get(field)
                if isinstance(want, Unknown):
                    skipped[field] += 1
                    continue
                total[field] += 1
                if act is not None and same(field, want, act[field]):
                    agree[field] += 1
                else:
                    disagreements.append(
                        (path, exp["fingerprint"][:16], field, want,
                         act[field] if act else "(no certsweep record)")
                    )

    print(f"Certificates read by pyca: {n_certs} in {len(paths)} files "
          f"(inputs: {', '.join(inputs)})")
    print(f"SPKI reference: the SPKI bytes of pyca's TBS; pyca's re-encoded public key equals "
          f"them for {by_source['same']}, differs for {by_source['differs']}, "
          f"key not loadable by pyca for {by_source['not loadable']} "
          f"(key fields from openssl x509 -text there)")
    print()
    print("| field | agree | compared | % | not readable by pyca |")
    print("|---|---:|---:|---:|---:|")
    ok = True
    for field in FIELDS:
        t = total[field]
        pct = 100.0 * agree[field] / t if t else 100.0
        ok &= pct >= args.target
        print(f"| {field} | {agree[field]} | {t} | {pct:.2f} | {skipped[field]} |")
    print()
    if disagreements:
        print(f"Disagreements ({len(disagreements)}):")
        print()
        for path, fp, field, want, have in disagreements:
            print(f"- {path} [{fp}] {field}: reference {want!r}, certsweep {have!r}")
    else:
        print("No disagreements.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
