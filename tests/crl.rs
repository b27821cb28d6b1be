//! CRLs: used only when signed by the issuer found in the inventory or --roots.

use crate::harness::*;

fn scan(paths: &[&str], extra: &[&str]) -> Run {
    Test::new()
        .arg("scan")
        .args(paths.iter().copied())
        .args([
            "--uploaded-at",
            "2016-01-01",
            "--cutoff",
            CUTOFF,
            "--format",
            "json",
        ])
        .args(extra.iter().copied())
        .run()
}

#[test]
fn crl_with_issuer_from_roots_marks_revoked() {
    for crl in [
        "fixtures/demo/revocations.crl",
        "fixtures/demo/revocations.der.crl",
    ] {
        let r = scan(
            &[
                "fixtures/demo/uploads/revoked.pem",
                "fixtures/demo/uploads/fresh.pem",
            ],
            &["--crl", crl, "--roots", "fixtures/ca/intermediate-ca.pem"],
        )
        .code(1)
        .json();
        assert_eq!(r["certificates"][0]["status"], "revoked", "{crl}");
        assert_eq!(r["certificates"][0]["action"], "none");
        assert_eq!(r["certificates"][1]["status"], "exposed");
    }
}

#[test]
fn crl_without_a_known_issuer_is_not_used() {
    let run = scan(
        &["fixtures/demo/uploads/revoked.pem"],
        &["--crl", "fixtures/demo/revocations.crl"],
    )
    .code(2);
    let r = run.json();
    assert_eq!(
        r["certificates"][0]["status"], "exposed",
        "unchecked CRL ignored"
    );
    let reason = r["errors"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot check this CRL's signature"),
        "{reason}"
    );
    assert!(
        reason.contains("CN=Certsweep Demo Issuing CA 1"),
        "{reason}"
    );
}

#[test]
fn forged_crl_is_rejected() {
    let run = scan(
        &["fixtures/demo/uploads/fresh.pem"],
        &[
            "--crl",
            "fixtures/broken/forged.crl",
            "--roots",
            "fixtures/ca/intermediate-ca.pem",
        ],
    )
    .code(2);
    let r = run.json();
    assert_eq!(
        r["certificates"][0]["status"], "exposed",
        "forged CRL must not hide it"
    );
    let reason = r["errors"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("signature does not verify"), "{reason}");
    assert_eq!(r["errors"][0]["path"], "fixtures/broken/forged.crl");
}

#[test]
fn crl_file_that_is_not_a_crl() {
    let run = scan(
        &["fixtures/demo/uploads/fresh.pem"],
        &["--crl", "fixtures/broken/text.txt"],
    )
    .code(2);
    assert!(run.json()["errors"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("no CRL found"));
}
