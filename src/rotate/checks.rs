//! The checks `rotate import` makes before it accepts an issued certificate: each failure is
//! a refusal that states the facts.

use std::collections::HashSet;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use time::OffsetDateTime;

use crate::cert::CertFacts;
use crate::timefmt;

/// The issued certificate and what it is checked against.
pub struct Candidate<'a> {
    pub facts: &'a CertFacts,
    pub der: &'a [u8],
}

/// Its key must be the CSR's, and not the old or any exposed key.
pub fn key(
    c: &Candidate<'_>,
    csr_spki: &str,
    old_spki: &str,
    exposed: &HashSet<String>,
) -> Result<(), String> {
    let spki = c.facts.spki.to_string();
    if spki == old_spki {
        return Err(format!(
            "refused: the issued certificate uses the OLD (exposed) key (spki sha256 {spki}); it must be issued for the new CSR"
        ));
    }
    if exposed.contains(&spki) {
        return Err(format!(
            "refused: the issued certificate's key (spki sha256 {spki}) is an exposed key"
        ));
    }
    if spki != csr_spki {
        return Err(format!(
            "refused: the issued certificate's key (spki sha256 {spki}) is not the key of this item's CSR (spki sha256 {csr_spki}); was it issued for another CSR?"
        ));
    }
    Ok(())
}

/// Every DNS name and IP address of the old certificate must be covered (DNS names case-
/// insensitively, a wildcard covering exactly one leftmost label).
pub fn names(c: &Candidate<'_>, old_dns: &[String], old_ips: &[String]) -> Result<(), String> {
    let missing: Vec<String> = old_dns
        .iter()
        .filter(|n| !c.facts.dns_names.iter().any(|have| dns_covers(have, n)))
        .map(|n| format!("DNS:{n}"))
        .chain(
            old_ips
                .iter()
                .filter(|ip| !c.facts.ip_addresses.contains(ip))
                .map(|ip| format!("IP:{ip}")),
        )
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "refused: the issued certificate does not cover {} of the old certificate (it has {})",
            missing.join(", "),
            if c.facts.dns_names.is_empty() {
                "no DNS names".to_owned()
            } else {
                c.facts.dns_names.join(", ")
            }
        ))
    }
}

/// Does SAN `have` (maybe `*.example.com`) cover `want`?
pub fn dns_covers(have: &str, want: &str) -> bool {
    if have.eq_ignore_ascii_case(want) {
        return true;
    }
    match (have.strip_prefix("*."), want.split_once('.')) {
        (Some(have_rest), Some((label, want_rest))) => {
            !label.is_empty()
                && !want.starts_with("*.")
                && have_rest.eq_ignore_ascii_case(want_rest)
        }
        _ => false,
    }
}

pub fn validity(c: &Candidate<'_>, now: OffsetDateTime) -> Result<(), String> {
    let f = c.facts;
    if now < f.not_before {
        return Err(format!(
            "refused: the issued certificate is not valid yet at {} (not before {})",
            timefmt::rfc3339(now),
            timefmt::rfc3339(f.not_before)
        ));
    }
    if now > f.not_after {
        return Err(format!(
            "refused: the issued certificate expired {} (now {})",
            timefmt::rfc3339(f.not_after),
            timefmt::rfc3339(now)
        ));
    }
    Ok(())
}

/// It must chain to one of `roots` for server authentication at `now` (rustls-webpki).
pub fn chain(
    c: &Candidate<'_>,
    intermediates: &[Vec<u8>],
    roots: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<(), String> {
    if roots.is_empty() {
        return Err(
            "refused: no trust anchors (give --roots FILE; the system store was not found)".into(),
        );
    }
    let root_ders: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let anchors: Vec<_> = root_ders
        .iter()
        .filter_map(|d| webpki::anchor_from_trusted_cert(d).ok())
        .collect();
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let leaf = CertificateDer::from(c.der);
    let ee = webpki::EndEntityCert::try_from(&leaf).map_err(|e| {
        format!("refused: the issued certificate cannot be parsed for path validation: {e:?}")
    })?;
    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &inter,
        UnixTime::since_unix_epoch(Duration::from_secs(secs)),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| {
        format!(
            "refused: the issued certificate does not chain to a trusted root for server authentication ({e:?}); give its intermediates with --chain and the root with --roots"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::dns_covers;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(dns_covers("shop.example.com", "SHOP.example.com"));
        assert!(dns_covers("*.example.com", "shop.example.com"));
        assert!(!dns_covers("*.example.com", "a.shop.example.com"));
        assert!(!dns_covers("*.example.com", "example.com"));
        assert!(!dns_covers("shop.example.com", "*.example.com"));
        assert!(dns_covers("*.example.com", "*.example.com"));
    }
}
