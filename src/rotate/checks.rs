//! The checks `rotate import` makes before it accepts an issued certificate: each failure is
//! a refusal that states the facts.

use std::collections::HashSet;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use time::OffsetDateTime;

use crate::cert::explain::{path_error, ChainSource};
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
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    path(
        &CertificateDer::from(c.der),
        &inter,
        roots,
        now,
        None,
        ChainSource::Files,
    )
    .map_err(|why| format!("refused: the issued certificate cannot be used: {why}"))
}

/// What an endpoint served (leaf first, as sent) must verify for `name` against `roots` at
/// `now`, using only the intermediates the server sent: that is what clients will see.
pub fn served(
    chain: &[CertificateDer<'_>],
    name: &ServerName<'_>,
    roots: &[Vec<u8>],
    now: OffsetDateTime,
) -> Result<(), String> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err("the endpoint sent no certificate".into());
    };
    path(
        leaf,
        intermediates,
        roots,
        now,
        Some(name),
        ChainSource::Server,
    )
    .map_err(|why| format!("clients will reject what it serves: {why}"))
}

/// Path validation for server authentication (and the name, when given).
fn path(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    roots: &[Vec<u8>],
    now: OffsetDateTime,
    name: Option<&ServerName<'_>>,
    source: ChainSource,
) -> Result<(), String> {
    if roots.is_empty() {
        return Err(
            "there are no trust anchors (the system store was not found); give the root with --roots FILE|DIR".into(),
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
    let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| path_error(&e, source))?;
    let secs = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        intermediates,
        UnixTime::since_unix_epoch(Duration::from_secs(secs)),
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .map_err(|e| path_error(&e, source))?;
    if let Some(name) = name {
        ee.verify_is_valid_for_subject_name(name)
            .map_err(|e| path_error(&e, source))?;
    }
    Ok(())
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
