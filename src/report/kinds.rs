//! The stable machine `kind` of an error or warning record, beside its human `reason`: what a
//! script branches on (`not-found`, `bad-base64`, `wrong-password`, …). The kinds are a closed
//! list, documented in the README; the reason's wording may improve, the kinds stay.
//!
//! Records are written in many places as sentences; their kind is read here, in one table,
//! from the stems certsweep itself writes (first match wins). A test below pins every kind to
//! messages the program really produces, so a reworded message that loses its kind fails it.

/// Every kind, in the order they are tried.
pub const KINDS: &[(&str, &[&str])] = &[
    (
        "not-found",
        &["file not found", "broken symlink", "404 not found"],
    ),
    ("permission-denied", &["permission denied"]),
    ("is-a-directory", &["is a directory"]),
    ("not-regular", &["not a regular file", "symlink loop"]),
    (
        "too-large",
        &[
            "larger than",
            "only the first",
            "is too long",
            "budget",
            "more than the limit",
        ],
    ),
    ("empty", &["empty file"]),
    (
        "wrong-password",
        &[
            "password",
            "passphrase",
            "could not be opened",
            "not decrypted",
            "mac ",
        ],
    ),
    ("bad-base64", &["base64"]),
    ("truncated", &["no end line", "truncated"]),
    ("bad-date", &["not a date", "bad uploaded_at", "created_at"]),
    (
        "missing-page",
        &["of the list is missing", "next page", "has a next page"],
    ),
    (
        "api",
        &[
            "the api ",
            "api credentials",
            "rate-limiting",
            "plain http",
            "the url ",
        ],
    ),
    (
        "tls",
        &["the server's certificate", "handshake", "the server's name"],
    ),
    (
        "unsupported",
        &["not supported", "unsupported", "not x.509"],
    ),
    (
        "not-json",
        &[
            "not json",
            "not valid json",
            "not a json object",
            "must be a string",
        ],
    ),
    (
        "manifest",
        &["manifest", "entry ", "'file'", "outside the manifest"],
    ),
    ("crl", &["crl"]),
    (
        "no-certificate",
        &[
            "no certificate",
            "not a certificate",
            "not readable",
            "unexpected pem block",
        ],
    ),
    (
        "malformed",
        &[
            "not a valid",
            "not a der",
            "der ",
            "encoding is invalid",
            "invalid",
        ],
    ),
];

/// The kind of a record from its reason; `unreadable` when no stem matches.
pub fn kind_of(reason: &str) -> &'static str {
    let lower = reason.to_ascii_lowercase();
    KINDS
        .iter()
        .find(|(_, stems)| stems.iter().any(|s| lower.contains(s)))
        .map_or("unreadable", |(kind, _)| kind)
}

#[cfg(test)]
mod tests {
    use super::kind_of;

    #[test]
    fn messages_certsweep_writes_have_their_kind() {
        let cases = [
            ("file not found", "not-found"),
            ("permission denied", "permission-denied"),
            ("is a directory (a manifest entry names one file)", "is-a-directory"),
            ("not a regular file but a FIFO: not read (name regular files or folders)", "not-regular"),
            ("larger than the limit of 256 MiB; not read", "too-large"),
            ("only the first 1 GiB were read: the input is larger than --max-input-size", "too-large"),
            ("empty file", "empty"),
            ("'CERTIFICATE' block has invalid base64: Invalid symbol 33, offset 4. (block starts at line 1)", "bad-base64"),
            ("'CERTIFICATE' block has no END line (file ends at line 12) (block starts at line 1)", "truncated"),
            ("no certificate found in 1 PEM block(s)", "no-certificate"),
            ("no certificate found: not PEM (no -----BEGIN line), nor DER (tried: certificate, PKCS#7, PKCS#12, private key)", "no-certificate"),
            ("unexpected PEM block 'FOO'", "no-certificate"),
            ("not a valid X.509 certificate: the bytes do not have the structure of an X.509 certificate", "malformed"),
            ("not a DER certificate, PKCS#7 bundle, PKCS#12 file or private key: not a valid X.509 certificate: its DER encoding is invalid; truncated: a value of 522 bytes but only 196 left", "truncated"),
            ("an ENCRYPTED PRIVATE KEY that could not be opened: wrong passphrase", "wrong-password"),
            ("PKCS#12: wrong password or corrupted file (MAC check failed)", "wrong-password"),
            ("entry 2 (id 'x'): bad uploaded_at: 'soon' is not a date", "bad-date"),
            ("manifest is not valid JSON: expected value at line 1", "not-json"),
            ("entry 3: has neither 'file' nor 'pem'", "manifest"),
            ("page 2 of 3 of the list is missing; fetch https://x/?page=2", "missing-page"),
            ("the API refused the credentials (401 Unauthorized)", "api"),
            ("it uses RC2-40, which is not supported", "unsupported"),
            ("not a valid CRL: bad signature", "crl"),
            ("cannot check this CRL's signature: its issuer 'CN=x' is not in the inventory", "crl"),
            ("something nobody wrote", "unreadable"),
        ];
        for (reason, kind) in cases {
            assert_eq!(kind_of(reason), kind, "{reason}");
        }
    }
}
