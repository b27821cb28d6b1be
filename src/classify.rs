//! Pure classification: (inventory, revocations, policy) → one verdict per certificate.
//! No I/O and no clock: `now` comes in with the policy.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cert::{DigestBuild, DigestMap, Sha256};
use crate::crl::{Revocation, Revocations};
use crate::inventory::{CertEntry, Inventory};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Exposed,
    KeyReused,
    UnknownUpload,
    Expiring,
    Revoked,
    Expired,
    NotAffected,
    Valid,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Exposed,
        Status::KeyReused,
        Status::UnknownUpload,
        Status::Expiring,
        Status::Revoked,
        Status::Expired,
        Status::NotAffected,
        Status::Valid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Exposed => "exposed",
            Status::KeyReused => "key-reused",
            Status::UnknownUpload => "unknown-upload",
            Status::Expiring => "expiring",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
            Status::NotAffected => "not-affected",
            Status::Valid => "valid",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The certificate whose key was uploaded: matched to a private key anywhere in the
    /// inventory, else a non-CA certificate, else a CA certificate whose upload holds no leaf
    /// (a lone self-signed certificate), or any certificate whose key is exposed.
    Leaf,
    /// A CA certificate uploaded alongside a leaf it is not, its key neither found nor exposed.
    Chain,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// New key, new certificate, upload it, then revoke the old one (keyCompromise).
    Replace,
    /// Find out when it was uploaded.
    Review,
    /// Renew before it expires.
    Renew,
    None,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Review => "review",
            Action::Renew => "renew",
            Action::None => "none",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownUpload {
    Review,
    Exposed,
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub now: OffsetDateTime,
    pub cutoff: Option<OffsetDateTime>,
    pub unknown_upload: UnknownUpload,
    pub expiring_within_days: i64,
    /// Without a cutoff: an expired leaf needs no action (`--ignore-expired`).
    pub ignore_expired: bool,
}

/// Something else in the inventory (or an imported list) that holds the same public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRef {
    Cert(usize),
    Key(usize),
    /// A CSR or public key (index into `Inventory::public_keys`).
    Public(usize),
    /// Line of an `--exposed-keys` file (index into `ExposedList::sources`).
    Listed(usize),
}

/// Public-key digests imported with `--exposed-keys`, with where each came from.
#[derive(Debug, Default)]
pub struct ExposedList {
    pub keys: HashMap<Sha256, usize>,
    pub sources: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Verdict<'r> {
    pub status: Status,
    pub role: Role,
    pub action: Action,
    pub private_key_in_upload: bool,
    /// Its key was uploaded before the cutoff (here or elsewhere), or is on an exposed list.
    pub key_exposed: bool,
    /// For key-reused: what exposed the key.
    pub exposed_by: Option<KeyRef>,
    pub revocation: Option<&'r Revocation>,
    /// Other certificates and keys with the same public key (the first few).
    pub shares_key_with: Vec<KeyRef>,
    pub shares_key_total: usize,
    /// Private keys with this public key anywhere in the inventory (the first few indices
    /// into `Inventory::keys`), and how many there are.
    pub private_keys: Vec<usize>,
    pub private_keys_total: usize,
    /// A CA certificate that is a leaf because none of its uploads holds another leaf.
    pub lone_ca: bool,
}

/// A CSR or public key whose key is exposed: someone may be about to renew on a leaked key.
#[derive(Clone, Copy, Debug)]
pub struct KeyFinding {
    /// Index into `Inventory::public_keys`.
    pub public: usize,
    /// What exposed the key.
    pub exposed_by: KeyRef,
}

/// At most this many `shares_key_with` entries per record; `shares_key_total` has the count.
pub const SHARES_SHOWN: usize = 4;

pub struct Classified<'r> {
    pub verdicts: Vec<Verdict<'r>>,
    /// Every exposed public key, for `--export-exposed-keys`.
    pub exposed_keys: Vec<Sha256>,
    /// CSRs and public keys on exposed keys.
    pub key_findings: Vec<KeyFinding>,
}

/// Is this upload time before the cutoff? `None` when unknown.
fn before_cutoff(uploaded_at: Option<OffsetDateTime>, cutoff: OffsetDateTime) -> Option<bool> {
    uploaded_at.map(|t| t < cutoff)
}

/// Was this certificate (any of its uploads) uploaded before the cutoff? An upload with no
/// date counts only when unknown uploads count as exposed and it was issued before the cutoff.
fn uploaded_before(c: &CertEntry, cutoff: OffsetDateTime, unknown_counts: bool) -> bool {
    // `upload` is the earliest dated upload: if it is not before the cutoff, none is.
    before_cutoff(c.upload.uploaded_at, cutoff).unwrap_or(false)
        || (unknown_counts
            && c.facts.not_before < cutoff
            && c.uploads().any(|u| u.uploaded_at.is_none()))
}

/// Values grouped by public key, each group stored once: one array of values and, per key,
/// where its group lies in it; no allocation per key (a 100,000-key inventory would
/// otherwise make 100,000 small vectors). Within a group, values keep the order they were
/// given in.
struct Groups<T> {
    /// Start and length in `values` (u32: an inventory of 4 billion entries does not fit in
    /// memory anyway).
    ranges: DigestMap<(u32, u32)>,
    values: Vec<T>,
}

impl<T: Copy> Groups<T> {
    fn new(pairs: Vec<(Sha256, T)>) -> Self {
        let mut ranges: DigestMap<(u32, u32)> =
            DigestMap::with_capacity_and_hasher(pairs.len(), DigestBuild::default());
        for (key, _) in &pairs {
            ranges.entry(*key).or_default().1 += 1;
        }
        // Each group's start; the second number counts the values placed so far.
        let mut start = 0;
        for range in ranges.values_mut() {
            let len = range.1;
            *range = (start, 0);
            start += len;
        }
        let mut values = match pairs.first() {
            Some(&(_, first)) => vec![first; pairs.len()],
            None => Vec::new(),
        };
        for (key, value) in pairs {
            // Every key was counted above.
            let range = ranges.get_mut(&key).expect("counted");
            values[(range.0 + range.1) as usize] = value;
            range.1 += 1;
        }
        Groups { ranges, values }
    }

    fn get(&self, key: &Sha256) -> &[T] {
        self.ranges.get(key).map_or(&[][..], |&(start, len)| {
            &self.values[start as usize..(start + len) as usize]
        })
    }

    fn contains(&self, key: &Sha256) -> bool {
        self.ranges.contains_key(key)
    }
}

pub fn classify<'r>(
    inv: &Inventory,
    revocations: &'r Revocations,
    exposed_list: &ExposedList,
    policy: &Policy,
) -> Classified<'r> {
    // Private keys by public key: the same upload (`private_key_in_upload`) or anywhere.
    let upload_keys: HashSet<(Sha256, u32), DigestBuild> =
        inv.keys.iter().map(|k| (k.spki, k.upload.id)).collect();
    let private = Groups::new(
        inv.keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.spki, i))
            .collect(),
    );
    // A leaf candidate is a certificate whose key was found, or a non-CA certificate; a CA
    // certificate is `chain` only when each of its uploads holds such a leaf.
    let candidate = |c: &CertEntry| !c.facts.is_ca || private.contains(&c.facts.spki);
    let upload_count = inv
        .certs
        .iter()
        .flat_map(|c| c.uploads())
        .map(|u| u.id as usize + 1)
        .max()
        .unwrap_or(0);
    let mut upload_has_leaf = vec![false; upload_count];
    for c in inv.certs.iter().filter(|c| candidate(c)) {
        for u in c.uploads() {
            upload_has_leaf[u.id as usize] = true;
        }
    }
    let roles: Vec<(Role, bool, bool)> = inv
        .certs
        .iter()
        .map(|c| {
            let in_upload = c
                .uploads()
                .any(|u| upload_keys.contains(&(c.facts.spki, u.id)));
            let lone_ca = !candidate(c) && !c.uploads().all(|u| upload_has_leaf[u.id as usize]);
            let role = if candidate(c) || lone_ca {
                Role::Leaf
            } else {
                Role::Chain
            };
            (role, in_upload, lone_ca)
        })
        .collect();

    // Who exposed each key: leaf certificates and keys uploaded before the cutoff (and, when
    // unknown uploads count as exposed, those too), plus the imported list.
    let mut exposers: Vec<(Sha256, KeyRef)> = Vec::new();
    if let Some(cutoff) = policy.cutoff {
        let unknown_counts = policy.unknown_upload == UnknownUpload::Exposed;
        for (i, c) in inv.certs.iter().enumerate() {
            if roles[i].0 == Role::Leaf && uploaded_before(c, cutoff, unknown_counts) {
                exposers.push((c.facts.spki, KeyRef::Cert(i)));
            }
        }
        for (i, k) in inv.keys.iter().enumerate() {
            if before_cutoff(k.upload.uploaded_at, cutoff).unwrap_or(unknown_counts) {
                exposers.push((k.spki, KeyRef::Key(i)));
            }
        }
    }
    let mut listed: Vec<(Sha256, usize)> =
        exposed_list.keys.iter().map(|(k, &l)| (*k, l)).collect();
    listed.sort_unstable();
    exposers.extend(listed.into_iter().map(|(k, l)| (k, KeyRef::Listed(l))));
    let exposers = Groups::new(exposers);

    let mut holders: Vec<(Sha256, KeyRef)> =
        Vec::with_capacity(inv.certs.len() + inv.keys.len() + inv.public_keys.len());
    holders.extend(
        inv.certs
            .iter()
            .enumerate()
            .map(|(i, c)| (c.facts.spki, KeyRef::Cert(i))),
    );
    // Keys uploaded with the certificate that holds them, per (key, upload): they are not
    // "other holders", and counting them here keeps each record's total O(1).
    let mut own_keys: HashMap<(Sha256, u32), usize, DigestBuild> = HashMap::default();
    for (i, k) in inv.keys.iter().enumerate() {
        holders.push((k.spki, KeyRef::Key(i)));
        *own_keys.entry((k.spki, k.upload.id)).or_default() += 1;
    }
    holders.extend(
        inv.public_keys
            .iter()
            .enumerate()
            .map(|(i, p)| (p.spki, KeyRef::Public(i))),
    );
    let holders = Groups::new(holders);

    let verdicts = inv
        .certs
        .par_iter()
        .enumerate()
        .map(|(i, c)| {
            let (role, private_key_in_upload, lone_ca) = roles[i];
            let others = |r: &&KeyRef| match r {
                KeyRef::Cert(j) => *j != i,
                // A key uploaded with this very certificate is not "another holder".
                KeyRef::Key(j) => {
                    let id = inv.keys[*j].upload.id;
                    c.uploads().all(|u| u.id != id)
                }
                KeyRef::Public(_) | KeyRef::Listed(_) => true,
            };
            let exposed_by = exposers.get(&c.facts.spki).iter().find(others).copied();
            let key_exposed = exposers.contains(&c.facts.spki);
            // An exposed key always wins: such a certificate is never `chain`.
            let role = if exposed_by.is_some() {
                Role::Leaf
            } else {
                role
            };
            // A key group is stored once, in `holders`; each record takes only the first few
            // others and the count. Never collect the whole group per certificate: with 20 keys
            // over 100,000 certificates that is 5,000 entries per record (quadratic).
            let group = holders.get(&c.facts.spki);
            let shares_key_with: Vec<KeyRef> = group
                .iter()
                .filter(others)
                .take(SHARES_SHOWN)
                .copied()
                .collect();
            // The group holds this certificate once and its own uploads' keys `own` times.
            let own: usize = c
                .uploads()
                .map(|u| own_keys.get(&(c.facts.spki, u.id)).copied().unwrap_or(0))
                .sum();
            let shares_key_total = group.len().saturating_sub(1 + own);
            let keys = private.get(&c.facts.spki);
            let revocation = revocations.lookup(&c.facts);
            let status = status_of(c, role, exposed_by.is_some(), revocation.is_some(), policy);
            let action = if status == Status::Expired
                && policy.cutoff.is_none()
                && role == Role::Leaf
                && !policy.ignore_expired
            {
                Action::Renew
            } else {
                action_of(status)
            };
            Verdict {
                status,
                role,
                action,
                private_key_in_upload,
                key_exposed,
                exposed_by: if status == Status::KeyReused {
                    exposed_by
                } else {
                    None
                },
                revocation,
                shares_key_total,
                shares_key_with,
                private_keys: keys.iter().take(SHARES_SHOWN).copied().collect(),
                private_keys_total: keys.len(),
                lone_ca,
            }
        })
        .collect();
    let key_findings = inv
        .public_keys
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let by = exposers.get(&p.spki).first()?;
            Some(KeyFinding {
                public: i,
                exposed_by: *by,
            })
        })
        .collect();
    let mut exposed_keys: Vec<Sha256> = exposers.ranges.into_keys().collect();
    exposed_keys.sort_unstable();
    Classified {
        verdicts,
        exposed_keys,
        key_findings,
    }
}

/// The rules of DESIGN.md's classification table, in priority order.
pub fn status_of(
    c: &CertEntry,
    role: Role,
    key_exposed_elsewhere: bool,
    revoked: bool,
    policy: &Policy,
) -> Status {
    let f = &c.facts;
    if f.not_after < policy.now {
        return Status::Expired;
    }
    if revoked {
        return Status::Revoked;
    }
    let Some(cutoff) = policy.cutoff else {
        // Plain inventory: a key on an `--exposed-keys` list still wins.
        if key_exposed_elsewhere {
            return Status::KeyReused;
        }
        let window = time::Duration::days(policy.expiring_within_days);
        return if role == Role::Leaf && f.not_after - policy.now <= window {
            Status::Expiring
        } else {
            Status::Valid
        };
    };
    if role == Role::Chain && !key_exposed_elsewhere {
        return Status::NotAffected;
    }
    // `upload` is the earliest dated upload; another upload of it may have no date.
    let undated =
        c.upload.uploaded_at.is_none() || c.also.iter().any(|(u, _)| u.uploaded_at.is_none());
    match c.upload.uploaded_at {
        Some(t) if t < cutoff => Status::Exposed,
        _ if key_exposed_elsewhere => Status::KeyReused,
        _ if undated && f.not_before < cutoff => match policy.unknown_upload {
            UnknownUpload::Review => Status::UnknownUpload,
            UnknownUpload::Exposed => Status::Exposed,
        },
        _ => Status::NotAffected,
    }
}

pub fn action_of(status: Status) -> Action {
    match status {
        Status::Exposed | Status::KeyReused => Action::Replace,
        Status::UnknownUpload => Action::Review,
        Status::Expiring => Action::Renew,
        _ => Action::None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cert::{CertFacts, KeyInfo};
    use crate::inventory::Upload;
    use crate::timefmt::parse;

    fn entry(uploaded: Option<&str>, not_before: &str, not_after: &str) -> CertEntry {
        CertEntry {
            upload: Arc::new(Upload {
                uploaded_at: uploaded.map(|u| parse(u).unwrap()),
                ..Upload::default()
            }),
            index: 1,
            facts: Box::new(CertFacts {
                fingerprint: Sha256([1; 32]),
                spki: Sha256([2; 32]),
                serial: "01".into(),
                subject: "CN=t".into(),
                issuer: "CN=ca".into(),
                subject_id: Sha256([3; 32]),
                issuer_id: Sha256([4; 32]),
                dns_names: vec![],
                ip_addresses: vec![],
                emails: vec![],
                uris: vec![],
                not_before: parse(not_before).unwrap(),
                not_after: parse(not_after).unwrap(),
                key: KeyInfo {
                    algorithm: "ec",
                    bits: Some(256),
                    curve: Some("P-256"),
                },
                signature_algorithm: "ecdsa-with-SHA256".into(),
                is_ca: false,
                omitted_sans: 0,
                names_cut: false,
                ca_spki_der: None,
            }),
            der: None,
            also: Vec::new(),
        }
    }

    fn policy(now: &str, cutoff: Option<&str>) -> Policy {
        Policy {
            now: parse(now).unwrap(),
            cutoff: cutoff.map(|c| parse(c).unwrap()),
            unknown_upload: UnknownUpload::Review,
            expiring_within_days: 30,
            ignore_expired: false,
        }
    }

    const CUTOFF: &str = "2016-11-01T00:00:00Z";

    #[test]
    fn cutoff_boundary_one_second_either_side() {
        let p = policy("2020-01-01", Some(CUTOFF));
        let cases = [
            ("2016-10-31T23:59:59Z", Status::Exposed),
            ("2016-11-01T00:00:00Z", Status::NotAffected),
            ("2016-11-01T00:00:01Z", Status::NotAffected),
        ];
        for (uploaded, want) in cases {
            let e = entry(Some(uploaded), "2016-01-01", "2099-01-01");
            assert_eq!(
                status_of(&e, Role::Leaf, false, false, &p),
                want,
                "{uploaded}"
            );
        }
    }

    #[test]
    fn expiry_boundary_at_now() {
        let e = entry(Some("2016-01-01"), "2015-01-01", "2020-01-01T00:00:00Z");
        let at = |now| status_of(&e, Role::Leaf, false, false, &policy(now, Some(CUTOFF)));
        assert_eq!(at("2019-12-31T23:59:59Z"), Status::Exposed);
        assert_eq!(at("2020-01-01T00:00:00Z"), Status::Exposed);
        assert_eq!(at("2020-01-01T00:00:01Z"), Status::Expired);
    }

    #[test]
    fn unknown_upload_depends_on_issue_date_and_policy() {
        let p = policy("2020-01-01", Some(CUTOFF));
        let before = entry(None, "2016-10-31T23:59:59Z", "2099-01-01");
        let on = entry(None, CUTOFF, "2099-01-01");
        assert_eq!(
            status_of(&before, Role::Leaf, false, false, &p),
            Status::UnknownUpload
        );
        assert_eq!(
            status_of(&on, Role::Leaf, false, false, &p),
            Status::NotAffected
        );
        let strict = Policy {
            unknown_upload: UnknownUpload::Exposed,
            ..p
        };
        assert_eq!(
            status_of(&before, Role::Leaf, false, false, &strict),
            Status::Exposed
        );
    }

    #[test]
    fn precedence_expired_then_revoked_then_exposure() {
        let p = policy("2020-01-01", Some(CUTOFF));
        let late = entry(Some("2018-01-01"), "2018-01-01", "2099-01-01");
        assert_eq!(
            status_of(&late, Role::Leaf, true, false, &p),
            Status::KeyReused
        );
        assert_eq!(
            status_of(&late, Role::Leaf, true, true, &p),
            Status::Revoked
        );
        // An exposed key always wins, even for a CA certificate.
        assert_eq!(
            status_of(&late, Role::Chain, true, false, &p),
            Status::KeyReused
        );
        assert_eq!(
            status_of(&late, Role::Chain, false, false, &p),
            Status::NotAffected
        );
        let gone = entry(Some("2015-01-01"), "2015-01-01", "2019-01-01");
        assert_eq!(
            status_of(&gone, Role::Leaf, true, true, &p),
            Status::Expired
        );
    }

    #[test]
    fn without_cutoff_valid_expiring_expired() {
        let e = entry(None, "2015-01-01", "2020-01-31T00:00:00Z");
        let at = |now| status_of(&e, Role::Leaf, false, false, &policy(now, None));
        assert_eq!(at("2020-01-01T00:00:00Z"), Status::Expiring); // exactly 30 days left
        assert_eq!(at("2019-12-31T23:59:59Z"), Status::Valid); // 30 days + 1 s left
        assert_eq!(at("2020-02-01T00:00:00Z"), Status::Expired);
    }
}
