//! The walk's rules as a pure function: (item, event) → the item's next state, or a refusal
//! that says why. No I/O and no clock: callers pass the time and the actor.

use super::state::{
    AcmeRevocation, CrlEvidence, CsrRecord, HistoryEntry, IssuedRecord, Item, RevocationRecord,
    Step, UploadRecord, VerificationRecord,
};

/// Something that happened to an item, with its evidence.
#[derive(Clone, Debug)]
pub enum Event {
    CsrGenerated(CsrRecord),
    Imported(IssuedRecord),
    Uploaded(UploadRecord),
    Verified(VerificationRecord),
    /// A check of the endpoint failed: a `verified` item goes back to `uploaded`, so the old
    /// certificate cannot be revoked on the strength of an out-of-date verification.
    VerifyFailed {
        endpoint: String,
        reason: String,
    },
    Revoked {
        crl: Option<CrlEvidence>,
        forced_reason: Option<String>,
    },
    /// An ACME CA revoked the old certificate (or had already): the same gate as `Revoked`.
    AcmeRevoked {
        evidence: AcmeRevocation,
        forced_reason: Option<String>,
    },
}

impl Event {
    fn action(&self) -> &'static str {
        match self {
            Event::CsrGenerated(_) => "csr",
            Event::Imported(i) if i.acme.is_some() => "issue",
            Event::Imported(_) => "import",
            Event::Uploaded(_) => "uploaded",
            Event::Verified(_) | Event::VerifyFailed { .. } => "verify",
            Event::Revoked { .. } => "revoked",
            Event::AcmeRevoked { .. } => "revoke",
        }
    }
}

/// What applying an event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The item moved (or its evidence changed); the plan must be saved.
    Changed { from: Step, to: Step },
    /// Already done: running a step twice is harmless and changes nothing.
    Unchanged(String),
}

/// Applies `event` to `item` at time `at` by `actor`, or refuses with the reason.
pub fn apply(item: &mut Item, event: Event, at: &str, actor: &str) -> Result<Applied, String> {
    let from = item.step;
    let action = event.action();
    let (to, detail) = match event {
        Event::CsrGenerated(csr) => match from {
            Step::Planned => {
                let detail = format!("new key {} spki {}", csr.key_type, csr.new_spki_sha256);
                item.csr = Some(csr);
                (Step::CsrGenerated, detail)
            }
            _ => {
                return Ok(Applied::Unchanged(format!(
                    "already has a CSR ({})",
                    from.as_str()
                )))
            }
        },
        Event::Imported(issued) => match from {
            Step::Planned => return Err("no CSR yet: run `rotate csr` first".into()),
            Step::CsrGenerated | Step::Issued => {
                if item.issued.as_ref().map(|i| &i.fingerprint_sha256)
                    == Some(&issued.fingerprint_sha256)
                {
                    return Ok(Applied::Unchanged(
                        "this certificate is already imported".into(),
                    ));
                }
                let mut detail = format!(
                    "issued certificate sha256 {} serial {}",
                    issued.fingerprint_sha256, issued.serial
                );
                if let Some(acme) = &issued.acme {
                    detail.push_str(&format!(
                        " by ACME order {} ({}, {})",
                        acme.order_url, acme.directory, acme.challenge
                    ));
                }
                item.issued = Some(issued);
                (Step::Issued, detail)
            }
            _ => {
                return Err(format!(
                    "the item is already {}: a new certificate cannot be imported now",
                    from.as_str()
                ))
            }
        },
        Event::Uploaded(upload) => match from {
            Step::Planned | Step::CsrGenerated => {
                return Err(
                    "import the issued certificate first (`rotate import ITEM --cert FILE`)".into(),
                )
            }
            Step::Issued => {
                let detail = match &upload.endpoint {
                    Some(e) => format!("uploaded; to be checked at {e}"),
                    None => "uploaded".to_owned(),
                };
                item.upload = Some(upload);
                (Step::Uploaded, detail)
            }
            _ => return Ok(Applied::Unchanged(format!("already {}", from.as_str()))),
        },
        Event::Verified(v) => match from {
            Step::Uploaded => {
                let detail = format!(
                    "{} serves the new certificate sha256 {}",
                    v.endpoint, v.served_fingerprint_sha256
                );
                item.verification = Some(v);
                (Step::Verified, detail)
            }
            Step::Planned | Step::CsrGenerated | Step::Issued => {
                return Err("record the upload first (`rotate uploaded ITEM`)".into())
            }
            _ => return Ok(Applied::Unchanged(format!("already {}", from.as_str()))),
        },
        Event::VerifyFailed { endpoint, reason } => match from {
            Step::Verified => {
                item.verification = None;
                (
                    Step::Uploaded,
                    format!("verification at {endpoint} failed: {reason}"),
                )
            }
            Step::Planned | Step::CsrGenerated | Step::Issued => {
                return Err("record the upload first (`rotate uploaded ITEM`)".into())
            }
            Step::Uploaded => return Ok(Applied::Unchanged("still uploaded".into())),
            Step::Revoked | Step::Done => {
                return Ok(Applied::Unchanged(format!(
                    "already {}: the old certificate's revocation is recorded",
                    from.as_str()
                )))
            }
        },
        Event::Revoked { crl, forced_reason } => {
            if from == Step::Done {
                return Ok(Applied::Unchanged("already done".into()));
            }
            if from == Step::Revoked {
                let Some(crl) = crl else {
                    return Ok(Applied::Unchanged(
                        "revocation already recorded; confirm it with --crl FILE".into(),
                    ));
                };
                let detail = format!("CRL {} lists the old serial", crl.path);
                if let Some(r) = item.revocation.as_mut() {
                    r.crl = Some(crl);
                }
                (Step::Done, detail)
            } else {
                if from < Step::Verified && forced_reason.is_none() {
                    return Err(format!(
                        "refused: the item is only {}. Revoking the old certificate before the new one is verified as served can take the site down. Verify first (`rotate uploaded ITEM --endpoint HOST:PORT`), or override with --force --reason TEXT",
                        from.as_str()
                    ));
                }
                let detail = match (&crl, &forced_reason) {
                    (_, Some(reason)) => format!("FORCED before verification: {reason}"),
                    (Some(c), None) => format!("CRL {} lists the old serial", c.path),
                    (None, None) => "revocation requested; not yet confirmed by a CRL".into(),
                };
                let to = if crl.is_some() {
                    Step::Done
                } else {
                    Step::Revoked
                };
                item.revocation = Some(RevocationRecord {
                    at: at.to_owned(),
                    forced_reason,
                    crl,
                    acme: None,
                });
                (to, detail)
            }
        }
        Event::AcmeRevoked {
            evidence,
            forced_reason,
        } => {
            if item.revocation.as_ref().is_some_and(|r| r.acme.is_some()) {
                return Ok(Applied::Unchanged(format!(
                    "already {}: the CA's revocation is recorded",
                    from.as_str()
                )));
            }
            if from < Step::Verified && forced_reason.is_none() {
                return Err(format!(
                    "refused: the item is only {}. Revoking the old certificate before the new one is verified as served can take the site down. Verify first (`rotate uploaded ITEM --endpoint HOST:PORT`), or override with --force --reason TEXT",
                    from.as_str()
                ));
            }
            let mut detail = format!(
                "{} revoked the old certificate serial {} ({}, signed by the {} key spki {}): {}",
                evidence.directory,
                item.old.serial,
                evidence.reason,
                evidence.signer,
                evidence.signer_spki_sha256,
                evidence.outcome
            );
            if let Some(reason) = &forced_reason {
                detail = format!("FORCED before verification: {reason}; {detail}");
            }
            let to = from.max(Step::Revoked);
            match item.revocation.as_mut() {
                // A revocation recorded by hand before: the CA's evidence joins it.
                Some(r) => r.acme = Some(evidence),
                None => {
                    item.revocation = Some(RevocationRecord {
                        at: at.to_owned(),
                        forced_reason,
                        crl: None,
                        acme: Some(evidence),
                    })
                }
            }
            (to, detail)
        }
    };
    item.step = to;
    item.history.push(HistoryEntry {
        at: at.to_owned(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        from,
        to,
        detail,
    });
    Ok(Applied::Changed { from, to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rotate::state::OldCert;

    fn item(step: Step) -> Item {
        let mut item = Item {
            id: "shop-abc123".into(),
            step: Step::Planned,
            host: None,
            manifest_id: None,
            old: OldCert {
                status: "exposed".into(),
                source_path: "x".into(),
                source_index: 1,
                fingerprint_sha256: "f".into(),
                spki_sha256: "s".into(),
                serial: "1".into(),
                subject: "CN=x".into(),
                issuer: "CN=ca".into(),
                issuer_name_sha256: "i".into(),
                dns_names: vec![],
                ip_addresses: vec![],
                not_after: "2099-01-01T00:00:00Z".into(),
                pem: String::new(),
            },
            csr: None,
            issued: None,
            upload: None,
            verification: None,
            revocation: None,
            history: vec![],
            csr_intent: None,
            acme_intent: None,
        };
        // Walk it forward with real events so its evidence is consistent.
        let steps = [csr(), imported("a"), uploaded(), verified()];
        for (event, reach) in steps.into_iter().zip([
            Step::CsrGenerated,
            Step::Issued,
            Step::Uploaded,
            Step::Verified,
        ]) {
            if reach > step {
                break;
            }
            apply(&mut item, event, "t", "me").unwrap();
        }
        item
    }

    fn csr() -> Event {
        Event::CsrGenerated(CsrRecord {
            csr_path: "c".into(),
            key_path: "k".into(),
            key_type: "ecdsa-p256".into(),
            new_spki_sha256: "n".into(),
            subject: "CN=x".into(),
            sans: vec![],
        })
    }

    fn imported(fp: &str) -> Event {
        Event::Imported(IssuedRecord {
            cert_path: "i".into(),
            fingerprint_sha256: fp.into(),
            serial: "2".into(),
            issuer: "CN=ca".into(),
            not_before: "a".into(),
            not_after: "b".into(),
            dns_names: vec![],
            ip_addresses: vec![],
            acme: None,
        })
    }

    fn uploaded() -> Event {
        Event::Uploaded(UploadRecord {
            at: "t".into(),
            endpoint: None,
        })
    }

    fn verified() -> Event {
        Event::Verified(VerificationRecord {
            at: "t".into(),
            endpoint: "h:443".into(),
            sni: None,
            served_fingerprint_sha256: "a".into(),
        })
    }

    fn crl() -> Option<CrlEvidence> {
        Some(CrlEvidence {
            path: "c.crl".into(),
            crl_number: None,
            reason: None,
            revoked_at: None,
            ocsp_responder: None,
        })
    }

    #[test]
    fn each_step_refuses_what_must_come_first() {
        assert!(apply(&mut item(Step::Planned), imported("a"), "t", "me")
            .unwrap_err()
            .contains("rotate csr"));
        assert!(apply(&mut item(Step::CsrGenerated), uploaded(), "t", "me")
            .unwrap_err()
            .contains("import"));
        assert!(apply(&mut item(Step::Issued), verified(), "t", "me")
            .unwrap_err()
            .contains("upload"));
        for step in [
            Step::Planned,
            Step::CsrGenerated,
            Step::Issued,
            Step::Uploaded,
        ] {
            let mut it = item(step);
            let err = apply(
                &mut it,
                Event::Revoked {
                    crl: crl(),
                    forced_reason: None,
                },
                "t",
                "me",
            )
            .unwrap_err();
            assert!(err.contains("take the site down"), "{step:?}: {err}");
            assert_eq!(it.step, step, "a refusal changes nothing");
        }
    }

    #[test]
    fn the_whole_walk_and_idempotence() {
        let mut it = item(Step::Verified);
        assert_eq!(it.step, Step::Verified);
        let r = apply(
            &mut it,
            Event::Revoked {
                crl: None,
                forced_reason: None,
            },
            "t",
            "me",
        )
        .unwrap();
        assert_eq!(
            r,
            Applied::Changed {
                from: Step::Verified,
                to: Step::Revoked
            }
        );
        assert!(matches!(
            apply(
                &mut it,
                Event::Revoked {
                    crl: None,
                    forced_reason: None
                },
                "t",
                "me"
            )
            .unwrap(),
            Applied::Unchanged(_)
        ));
        let r = apply(
            &mut it,
            Event::Revoked {
                crl: crl(),
                forced_reason: None,
            },
            "t",
            "me",
        )
        .unwrap();
        assert_eq!(
            r,
            Applied::Changed {
                from: Step::Revoked,
                to: Step::Done
            }
        );
        assert!(matches!(
            apply(&mut it, uploaded(), "t", "me").unwrap(),
            Applied::Unchanged(_)
        ));
        assert_eq!(it.history.len(), 6);
        assert_eq!(it.history[0].actor, "me");
    }

    #[test]
    fn a_failed_verification_takes_a_verified_item_back_to_uploaded() {
        let failed = || Event::VerifyFailed {
            endpoint: "h:443".into(),
            reason: "serves another certificate".into(),
        };
        let mut it = item(Step::Verified);
        let r = apply(&mut it, failed(), "t2", "me").unwrap();
        assert_eq!(
            r,
            Applied::Changed {
                from: Step::Verified,
                to: Step::Uploaded
            }
        );
        assert!(it.verification.is_none());
        let last = it.history.last().unwrap();
        assert_eq!((last.action.as_str(), last.at.as_str()), ("verify", "t2"));
        assert!(last.detail.contains("serves another certificate"));
        let err = apply(
            &mut it,
            Event::Revoked {
                crl: None,
                forced_reason: None,
            },
            "t",
            "me",
        )
        .unwrap_err();
        assert!(err.contains("only uploaded"), "{err}");
        assert!(matches!(
            apply(&mut it, failed(), "t", "me").unwrap(),
            Applied::Unchanged(_)
        ));
    }

    #[test]
    fn force_is_recorded() {
        let mut it = item(Step::Issued);
        apply(
            &mut it,
            Event::Revoked {
                crl: None,
                forced_reason: Some("CA deadline".into()),
            },
            "t",
            "me",
        )
        .unwrap();
        assert_eq!(it.step, Step::Revoked);
        assert!(it
            .history
            .last()
            .unwrap()
            .detail
            .contains("FORCED before verification: CA deadline"));
    }

    #[test]
    fn reimport_replaces_only_before_upload() {
        let mut it = item(Step::Issued);
        assert!(matches!(
            apply(&mut it, imported("a"), "t", "me").unwrap(),
            Applied::Unchanged(_)
        ));
        assert!(matches!(
            apply(&mut it, imported("b"), "t", "me").unwrap(),
            Applied::Changed { .. }
        ));
        let mut up = item(Step::Uploaded);
        assert!(apply(&mut up, imported("c"), "t", "me").is_err());
    }
}
