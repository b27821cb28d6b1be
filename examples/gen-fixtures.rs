//! Generates the certsweep test fixtures: a demo PKI (root, issuing CA, an unrelated CA),
//! the demo upload inventory with its manifests and CRL, malformed inputs for error
//! handling, and a few formatting oddities.
//!
//! Run from the crate root (the argument is the output directory, default `fixtures`):
//!
//! ```text
//! cargo run --example gen-fixtures -- fixtures
//! ```
//!
//! Every date and serial number is fixed, so the classification of each fixture never
//! depends on when this program ran. The keys are fresh random keys on every run, so
//! regenerating changes the bytes (and fingerprints) but not the expected results.
//! `fixtures/README.md` describes each file and the expected classification; it is
//! written by hand and is not touched by this program.
//!
//! This file is deliberately self-contained (it uses no certsweep code), so the fixtures
//! cannot inherit a bug from the code they are meant to test.

use std::error::Error;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, CertificateRevocationListParams,
    DistinguishedName, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, RsaKeySize, SerialNumber,
    SignatureAlgorithm, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519,
    PKCS_RSA_SHA256,
};
use time::macros::{datetime, format_description};
use time::OffsetDateTime;
use yasna::models::{ObjectIdentifier, TaggedDerValue};
use yasna::tags::{TAG_GENERALIZEDTIME, TAG_TELETEXSTRING, TAG_UTCTIME};
use yasna::{DERWriter, Tag};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Validity end shared by the CAs and most leaves: far enough away that those
/// certificates stay "not expired" for any `--now` a test will plausibly use.
const FAR_FUTURE: OffsetDateTime = datetime!(2099-12-31 23:59:59 UTC);
/// Start of the CAs' validity, well before every leaf.
const CA_NOT_BEFORE: OffsetDateTime = datetime!(2010-01-01 0:00 UTC);

// Serial numbers. Demo leaf N of the table in README.md gets 0x1000 + N written in
// hex digits (so `tricky`, upload 14, is 0x1014); they are part of the expected
// results, so they are fixed even though the keys are random.
const SERIAL_ROOT: u64 = 0x01;
const SERIAL_INTERMEDIATE: u64 = 0x02;
const SERIAL_OTHER_CA: u64 = 0x03;
const SERIAL_SHOP: u64 = 0x1001;
const SERIAL_LEGACY: u64 = 0x1002;
const SERIAL_MAIL: u64 = 0x1003;
const SERIAL_OLD: u64 = 0x1004;
const SERIAL_NEW_SAME_KEY: u64 = 0x1005;
const SERIAL_FRESH: u64 = 0x1006;
const SERIAL_UNKNOWN: u64 = 0x1007;
const SERIAL_REVOKED: u64 = 0x1008;
// Upload 9 (`api-key`) is a bare key, so 0x1009 is unused.
const SERIAL_API: u64 = 0x1010;
const SERIAL_INLINE: u64 = 0x1011;
const SERIAL_LATE: u64 = 0x1012;
const SERIAL_RETIRED: u64 = 0x1013;
const SERIAL_TRICKY: u64 = 0x1014;
const SERIAL_RSA3072: u64 = 0x1015;
const SERIAL_EDGE: u64 = 0x1016;
// Certificates outside the demo inventory (special/ and broken/).
const SERIAL_INDENTED: u64 = 0x2001;
const SERIAL_TRAILING: u64 = 0x2002;
const SERIAL_WRONG_LABEL: u64 = 0x2003;
const SERIAL_NO_END: u64 = 0x2004;

// Object identifiers used when hand-encoding the tricky certificate.
const OID_DOMAIN_COMPONENT: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 25];
const OID_USER_ID: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 1];
const OID_COUNTRY: &[u64] = &[2, 5, 4, 6];
const OID_LOCALITY: &[u64] = &[2, 5, 4, 7];
const OID_STATE: &[u64] = &[2, 5, 4, 8];
const OID_ORGANIZATION: &[u64] = &[2, 5, 4, 10];
const OID_ORG_UNIT: &[u64] = &[2, 5, 4, 11];
const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
const OID_ECDSA_WITH_SHA256: &[u64] = &[1, 2, 840, 10045, 4, 3, 2];
const OID_SUBJECT_KEY_ID: &[u64] = &[2, 5, 29, 14];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_SUBJECT_ALT_NAME: &[u64] = &[2, 5, 29, 17];
const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_AUTHORITY_KEY_ID: &[u64] = &[2, 5, 29, 35];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_KP_SERVER_AUTH: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 3, 1];

const USAGE: &str = "usage: cargo run --example gen-fixtures -- [OUTPUT_DIR]\n\n\
Writes the certsweep test fixtures into OUTPUT_DIR (default: fixtures).\n\
Options:\n  -h, --help  print this help and exit\n";

fn main() {
    let out_dir = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(dir)) => dir,
        Ok(None) => {
            print!("{USAGE}");
            return;
        }
        Err(message) => {
            eprintln!("gen-fixtures: {message}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(err) = run(&out_dir) {
        eprintln!("gen-fixtures: {err}");
        std::process::exit(1);
    }
}

/// Reads the command line: at most one output folder, and `-h`/`--help`. Anything else that
/// starts with `-` is refused, so a mistyped flag never becomes a folder full of CA keys.
/// `Ok(None)` means "print the usage and stop".
fn parse_args(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> std::result::Result<Option<PathBuf>, String> {
    let mut out_dir = None;
    let mut only_paths = false;
    for arg in args {
        let text = arg.to_string_lossy();
        if !only_paths && (text == "-h" || text == "--help") {
            return Ok(None);
        }
        if !only_paths && text == "--" {
            only_paths = true;
            continue;
        }
        if !only_paths && text.starts_with('-') {
            return Err(format!("unknown option `{text}`"));
        }
        if out_dir.is_some() {
            return Err(format!(
                "unexpected extra argument `{text}` (one output folder only)"
            ));
        }
        out_dir = Some(PathBuf::from(arg));
    }
    Ok(Some(out_dir.unwrap_or_else(|| PathBuf::from("fixtures"))))
}

fn run(out: &Path) -> Result<()> {
    let cas = DemoCas::generate()?;
    cas.write(&out.join("ca"))?;

    let mail_der = write_demo(&out.join("demo"), &cas)?;
    write_broken(&out.join("broken"), &cas, &mail_der)?;
    write_special(&out.join("special"), &cas)?;

    println!("fixtures written to {}", out.display());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Certificate authorities
// ---------------------------------------------------------------------------------------

/// A CA: the parameters it was issued from (rcgen needs them to act as an issuer),
/// its key, and its certificate.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    cert: Certificate,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    fn write(&self, dir: &Path, name: &str) -> Result<()> {
        write_file(
            &dir.join(format!("{name}.pem")),
            pem_block("CERTIFICATE", self.cert.der()),
        )?;
        write_file(&dir.join(format!("{name}.key.pem")), pkcs8_pem(&self.key)?)
    }
}

/// The three CAs every other fixture refers to.
struct DemoCas {
    root: Ca,
    intermediate: Ca,
    /// An unrelated root, used to sign the forged CRL.
    other: Ca,
}

impl DemoCas {
    fn generate() -> Result<Self> {
        let root_dn = dn(&[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Certsweep Demo"),
            (DnType::CommonName, "Certsweep Demo Root CA"),
        ])?;
        let root = self_signed_ca(root_dn, SERIAL_ROOT)?;

        let intermediate_dn = dn(&[
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Certsweep Demo"),
            (DnType::CommonName, "Certsweep Demo Issuing CA 1"),
        ])?;
        let mut params = ca_params(
            intermediate_dn,
            SERIAL_INTERMEDIATE,
            BasicConstraints::Constrained(0),
        );
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let cert = params.signed_by(&key, &root.issuer())?;
        let intermediate = Ca { params, key, cert };

        let other = self_signed_ca(
            dn(&[(DnType::CommonName, "Unrelated Test CA")])?,
            SERIAL_OTHER_CA,
        )?;

        Ok(Self {
            root,
            intermediate,
            other,
        })
    }

    fn write(&self, dir: &Path) -> Result<()> {
        self.root.write(dir, "root-ca")?;
        self.intermediate.write(dir, "intermediate-ca")?;
        self.other.write(dir, "other-ca")
    }
}

/// Builds a distinguished name from attributes in encoded order, i.e. most significant
/// first (C, O, CN), which RFC 4514 prints reversed as "CN=…,O=…,C=…". The country is a
/// PrintableString, as RFC 5280 requires; rcgen would otherwise encode a UTF8String.
fn dn(attrs: &[(DnType, &str)]) -> Result<DistinguishedName> {
    let mut name = DistinguishedName::new();
    for (ty, value) in attrs {
        let value = match ty {
            DnType::CountryName => DnValue::PrintableString((*value).try_into()?),
            _ => DnValue::Utf8String((*value).to_owned()),
        };
        name.push(ty.clone(), value);
    }
    Ok(name)
}

fn ca_params(
    name: DistinguishedName,
    serial: u64,
    constraints: BasicConstraints,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    params.serial_number = Some(SerialNumber::from(serial));
    params.not_before = CA_NOT_BEFORE;
    params.not_after = FAR_FUTURE;
    params.is_ca = IsCa::Ca(constraints);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn self_signed_ca(name: DistinguishedName, serial: u64) -> Result<Ca> {
    let params = ca_params(name, serial, BasicConstraints::Unconstrained);
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok(Ca { params, key, cert })
}

// ---------------------------------------------------------------------------------------
// Leaf certificates
// ---------------------------------------------------------------------------------------

/// What varies between the leaf certificates; everything else is a plain TLS server profile.
struct LeafSpec<'a> {
    serial: u64,
    host: &'a str,
    /// DNS names in addition to `host` (which is always the CN and the first SAN).
    extra_dns: &'a [&'a str],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl<'a> LeafSpec<'a> {
    fn new(
        serial: u64,
        host: &'a str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Self {
        Self {
            serial,
            host,
            extra_dns: &[],
            not_before,
            not_after,
        }
    }
}

/// Issues a non-CA TLS server certificate for `key`, signed by the issuing CA.
fn issue_leaf(spec: &LeafSpec<'_>, key: &KeyPair, ca: &Ca) -> Result<Certificate> {
    let mut names = vec![spec.host.to_owned()];
    names.extend(spec.extra_dns.iter().map(|name| (*name).to_owned()));

    let mut params = CertificateParams::new(names)?;
    params.distinguished_name = dn(&[(DnType::CommonName, spec.host)])?;
    params.serial_number = Some(SerialNumber::from(spec.serial));
    params.not_before = spec.not_before;
    params.not_after = spec.not_after;
    // ExplicitNoCa writes basicConstraints CA:FALSE (NoCa would omit the extension).
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params.signed_by(key, &ca.issuer())?)
}

fn new_key(alg: &'static SignatureAlgorithm) -> Result<KeyPair> {
    Ok(KeyPair::generate_for(alg)?)
}

fn new_rsa_key(size: RsaKeySize) -> Result<KeyPair> {
    Ok(KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size)?)
}

/// Issues a leaf for a fresh P-256 key (the common case), returning both.
fn issue_fresh_leaf(spec: &LeafSpec<'_>, ca: &Ca) -> Result<(Certificate, KeyPair)> {
    let key = new_key(&PKCS_ECDSA_P256_SHA256)?;
    let cert = issue_leaf(spec, &key, ca)?;
    Ok((cert, key))
}

/// A valid leaf outside the demo inventory (for broken/ and special/); its key is dropped.
fn extra_leaf(serial: u64, host: &str, ca: &Ca) -> Result<Certificate> {
    let spec = LeafSpec::new(serial, host, datetime!(2016-04-01 0:00 UTC), FAR_FUTURE);
    Ok(issue_fresh_leaf(&spec, ca)?.0)
}

fn cert_pem(cert: &Certificate) -> String {
    pem_block("CERTIFICATE", cert.der())
}

// ---------------------------------------------------------------------------------------
// The demo inventory
// ---------------------------------------------------------------------------------------

/// One manifest row.
struct Upload {
    id: &'static str,
    content: UploadContent,
    /// As written in the manifest; `None` leaves the field out.
    uploaded_at: Option<&'static str>,
    host: &'static str,
    account: &'static str,
}

enum UploadContent {
    /// Path relative to the manifest's folder.
    File(String),
    /// PEM text carried in the manifest itself (JSON only).
    InlinePem(String),
}

impl Upload {
    /// A row whose file is `uploads/<id>.pem`, as for every upload but `mail` and `inline`.
    fn pem_file(
        id: &'static str,
        uploaded_at: Option<&'static str>,
        host: &'static str,
        account: &'static str,
    ) -> Self {
        let content = UploadContent::File(format!("uploads/{id}.pem"));
        Self {
            id,
            content,
            uploaded_at,
            host,
            account,
        }
    }
}

/// Writes `demo/`: the uploads, both manifests and the CRL. Returns mail's DER, which
/// `broken/truncated.der` is cut from.
fn write_demo(dir: &Path, cas: &DemoCas) -> Result<Vec<u8>> {
    let ca = &cas.intermediate;
    // K1 is used by `old` (uploaded with it) and again by `new-same-key`; K2 is uploaded
    // bare as `api-key` and later certified as `api`. These pairs drive key-reused.
    let k1 = new_key(&PKCS_ECDSA_P256_SHA256)?;
    let k2 = new_key(&PKCS_ED25519)?;

    let (mail_upload, mail_der) = demo_mail(dir, ca)?;
    let uploads = vec![
        demo_shop(dir, ca)?,
        demo_legacy(dir, ca)?,
        mail_upload,
        demo_old(dir, ca, &k1)?,
        demo_new_same_key(dir, ca, &k1)?,
        demo_fresh(dir, ca)?,
        demo_unknown(dir, ca)?,
        demo_revoked(dir, ca)?,
        demo_api_key(dir, &k2)?,
        demo_api(dir, ca, &k2)?,
        demo_inline(ca)?,
        demo_late(dir, ca)?,
        demo_retired(dir, ca)?,
        demo_tricky(dir, ca)?,
        demo_rsa3072(dir, ca)?,
        demo_edge(dir, ca)?,
    ];

    write_file(&dir.join("manifest.json"), manifest_json(&uploads))?;
    write_file(&dir.join("manifest.csv"), manifest_csv(&uploads))?;
    write_demo_crl(dir, ca)?;
    Ok(mail_der)
}

/// Writes an upload file (path from the manifest row) under the demo folder.
fn write_upload(dir: &Path, upload: &Upload, bytes: impl AsRef<[u8]>) -> Result<()> {
    match &upload.content {
        UploadContent::File(file) => write_file(&dir.join(file), bytes),
        UploadContent::InlinePem(_) => Err(format!("upload {} has no file", upload.id).into()),
    }
}

/// A leaf for the upload's host with a fresh key, alone in its file.
fn demo_plain(
    dir: &Path,
    ca: &Ca,
    upload: Upload,
    serial: u64,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Upload> {
    let spec = LeafSpec::new(serial, upload.host, not_before, not_after);
    let (cert, _key) = issue_fresh_leaf(&spec, ca)?;
    write_upload(dir, &upload, cert_pem(&cert))?;
    Ok(upload)
}

/// No upload time at all, issued before the cutoff: the tool cannot tell.
fn demo_unknown(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file("unknown", None, "unknown.example.com", "acme-eu");
    demo_plain(
        dir,
        ca,
        upload,
        SERIAL_UNKNOWN,
        datetime!(2015-09-01 0:00 UTC),
        FAR_FUTURE,
    )
}

/// Exposed, but listed in `revocations.crl`, so already dealt with.
fn demo_revoked(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file("revoked", Some("2016-02-02"), "revoked.example.com", "acme");
    demo_plain(
        dir,
        ca,
        upload,
        SERIAL_REVOKED,
        datetime!(2016-02-01 0:00 UTC),
        FAR_FUTURE,
    )
}

/// Issued before the cutoff but uploaded after it: the vendor never held this key.
fn demo_late(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file("late", Some("2017-01-10"), "late.example.com", "acme-eu");
    demo_plain(
        dir,
        ca,
        upload,
        SERIAL_LATE,
        datetime!(2016-06-01 0:00 UTC),
        FAR_FUTURE,
    )
}

/// Uploaded after the cutoff and expired since: expired, key not exposed.
fn demo_retired(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file(
        "retired",
        Some("2017-02-01"),
        "retired.example.com",
        "acme-eu",
    );
    let not_after = datetime!(2018-01-01 0:00 UTC);
    demo_plain(
        dir,
        ca,
        upload,
        SERIAL_RETIRED,
        datetime!(2017-01-01 0:00 UTC),
        not_after,
    )
}

/// Uploaded exactly at the cutoff, which is not "before" it.
fn demo_edge(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file(
        "edge",
        Some("2016-11-01T00:00:00Z"),
        "edge.example.com",
        "acme",
    );
    demo_plain(
        dir,
        ca,
        upload,
        SERIAL_EDGE,
        datetime!(2016-10-15 0:00 UTC),
        FAR_FUTURE,
    )
}

/// A typical export: bag attributes text, leaf, issuing CA, a comment, then the key.
/// The CA certificate must come out with role `chain`, not as a second finding.
fn demo_shop(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file(
        "shop",
        Some("2016-05-10T09:30:00Z"),
        "shop.example.com",
        "acme",
    );
    let spec = LeafSpec {
        extra_dns: &["www.shop.example.com"],
        ..LeafSpec::new(
            SERIAL_SHOP,
            "shop.example.com",
            datetime!(2016-03-01 0:00 UTC),
            FAR_FUTURE,
        )
    };
    let (cert, key) = issue_fresh_leaf(&spec, ca)?;
    let text = format!(
        "Bag Attributes: friendlyName shop\n{}{}# private key for shop.example.com follows\n{}",
        cert_pem(&cert),
        cert_pem(&ca.cert),
        pkcs8_pem(&key)?,
    );
    write_upload(dir, &upload, text)?;
    Ok(upload)
}

/// RSA-2048 with a PKCS#1 key, saved by a Windows tool: UTF-8 BOM and CRLF throughout.
/// Its upload time carries a +02:00 offset on purpose.
fn demo_legacy(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file(
        "legacy",
        Some("2015-06-15T12:00:00+02:00"),
        "legacy.example.com",
        "acme",
    );
    let key = new_rsa_key(RsaKeySize::_2048)?;
    let cert = issue_leaf(
        &LeafSpec::new(
            SERIAL_LEGACY,
            "legacy.example.com",
            datetime!(2015-06-01 0:00 UTC),
            FAR_FUTURE,
        ),
        &key,
        ca,
    )?;
    let text = format!("{}{}", cert_pem(&cert), pkcs1_pem(&key)?);
    let windows_text = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    write_upload(dir, &upload, windows_text)?;
    Ok(upload)
}

/// A DER certificate without a key: a non-CA certificate is the leaf by default.
fn demo_mail(dir: &Path, ca: &Ca) -> Result<(Upload, Vec<u8>)> {
    let upload = Upload {
        content: UploadContent::File("uploads/mail.der".to_owned()),
        ..Upload::pem_file("mail", Some("2016-01-20"), "mail.example.com", "acme")
    };
    let key = new_key(&PKCS_ECDSA_P384_SHA384)?;
    let cert = issue_leaf(
        &LeafSpec::new(
            SERIAL_MAIL,
            "mail.example.com",
            datetime!(2016-01-10 0:00 UTC),
            FAR_FUTURE,
        ),
        &key,
        ca,
    )?;
    let der = cert.der().to_vec();
    write_upload(dir, &upload, &der)?;
    Ok((upload, der))
}

/// Expired, but its key K1 leaked with it (as a SEC1 "EC PRIVATE KEY").
fn demo_old(dir: &Path, ca: &Ca, k1: &KeyPair) -> Result<Upload> {
    let upload = Upload::pem_file("old", Some("2013-02-01"), "old.example.com", "acme");
    let cert = issue_leaf(
        &LeafSpec::new(
            SERIAL_OLD,
            "old.example.com",
            datetime!(2013-01-01 0:00 UTC),
            datetime!(2016-12-31 0:00 UTC),
        ),
        k1,
        ca,
    )?;
    write_upload(
        dir,
        &upload,
        format!("{}{}", cert_pem(&cert), sec1_pem(k1)?),
    )?;
    Ok(upload)
}

/// Uploaded long after the cutoff, but renewed with the leaked key K1.
fn demo_new_same_key(dir: &Path, ca: &Ca, k1: &KeyPair) -> Result<Upload> {
    let upload = Upload::pem_file(
        "new-same-key",
        Some("2018-01-05"),
        "new.example.com",
        "acme",
    );
    let cert = issue_leaf(
        &LeafSpec::new(
            SERIAL_NEW_SAME_KEY,
            "new.example.com",
            datetime!(2018-01-01 0:00 UTC),
            FAR_FUTURE,
        ),
        k1,
        ca,
    )?;
    write_upload(dir, &upload, cert_pem(&cert))?;
    Ok(upload)
}

/// After the cutoff with a new key. The forged CRL lists its serial.
fn demo_fresh(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file("fresh", Some("2017-03-02"), "fresh.example.com", "acme-eu");
    let (cert, key) = issue_fresh_leaf(
        &LeafSpec::new(
            SERIAL_FRESH,
            "fresh.example.com",
            datetime!(2017-03-01 0:00 UTC),
            FAR_FUTURE,
        ),
        ca,
    )?;
    write_upload(
        dir,
        &upload,
        format!("{}{}", cert_pem(&cert), pkcs8_pem(&key)?),
    )?;
    Ok(upload)
}

/// A key the vendor held on its own, with no certificate.
fn demo_api_key(dir: &Path, k2: &KeyPair) -> Result<Upload> {
    let upload = Upload::pem_file("api-key", Some("2016-07-01"), "api.example.com", "acme");
    write_upload(dir, &upload, pkcs8_pem(k2)?)?;
    Ok(upload)
}

/// Issued and uploaded after the cutoff, for the key K2 that was uploaded bare before it.
fn demo_api(dir: &Path, ca: &Ca, k2: &KeyPair) -> Result<Upload> {
    let upload = Upload::pem_file("api", Some("2019-01-02"), "api.example.com", "acme");
    let cert = issue_leaf(
        &LeafSpec::new(
            SERIAL_API,
            "api.example.com",
            datetime!(2019-01-01 0:00 UTC),
            FAR_FUTURE,
        ),
        k2,
        ca,
    )?;
    write_upload(dir, &upload, cert_pem(&cert))?;
    Ok(upload)
}

/// The certificate travels inside manifest.json, so it is absent from manifest.csv.
fn demo_inline(ca: &Ca) -> Result<Upload> {
    let (cert, _key) = issue_fresh_leaf(
        &LeafSpec::new(
            SERIAL_INLINE,
            "inline.example.com",
            datetime!(2016-08-01 0:00 UTC),
            FAR_FUTURE,
        ),
        ca,
    )?;
    Ok(Upload {
        id: "inline",
        content: UploadContent::InlinePem(cert_pem(&cert)),
        uploaded_at: Some("2016-08-02"),
        host: "inline.example.com",
        account: "acme",
    })
}

/// The hand-encoded certificate with an awkward subject (see `build_tricky_cert`).
fn demo_tricky(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file("tricky", Some("2016-09-09"), "tricky.example.com", "acme");
    let key = new_key(&PKCS_ECDSA_P256_SHA256)?;
    let der = build_tricky_cert(&key, ca)?;
    write_upload(
        dir,
        &upload,
        format!("{}{}", pem_block("CERTIFICATE", &der), pkcs8_pem(&key)?),
    )?;
    Ok(upload)
}

/// RSA-3072, uploaded one second before the cutoff.
fn demo_rsa3072(dir: &Path, ca: &Ca) -> Result<Upload> {
    let upload = Upload::pem_file(
        "rsa3072",
        Some("2016-10-31T23:59:59Z"),
        "big.example.com",
        "acme",
    );
    let key = new_rsa_key(RsaKeySize::_3072)?;
    let cert = issue_leaf(
        &LeafSpec::new(
            SERIAL_RSA3072,
            "big.example.com",
            datetime!(2016-10-01 0:00 UTC),
            FAR_FUTURE,
        ),
        &key,
        ca,
    )?;
    write_upload(dir, &upload, cert_pem(&cert))?;
    Ok(upload)
}

// ---------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------

/// `{"uploads": [...]}` with one object per line. Written by hand rather than through a
/// `serde_json::Value` so the keys keep the documented order (id, file|pem, uploaded_at,
/// host, account); serde_json is still used to quote every string.
fn manifest_json(uploads: &[Upload]) -> String {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let rows: Vec<String> = uploads
        .iter()
        .map(|upload| {
            let mut fields = vec![format!("\"id\": {}", quote(upload.id))];
            fields.push(match &upload.content {
                UploadContent::File(file) => format!("\"file\": {}", quote(file)),
                UploadContent::InlinePem(pem) => format!("\"pem\": {}", quote(pem)),
            });
            if let Some(at) = upload.uploaded_at {
                fields.push(format!("\"uploaded_at\": {}", quote(at)));
            }
            fields.push(format!("\"host\": {}", quote(upload.host)));
            fields.push(format!("\"account\": {}", quote(upload.account)));
            format!("    {{{}}}", fields.join(", "))
        })
        .collect();
    format!("{{\n  \"uploads\": [\n{}\n  ]\n}}\n", rows.join(",\n"))
}

/// The same rows as CSV; inline uploads are skipped (CSV has no pem column) and a
/// missing upload time is an empty cell.
fn manifest_csv(uploads: &[Upload]) -> String {
    let mut csv = String::from("id,file,uploaded_at,host,account\n");
    for upload in uploads {
        let UploadContent::File(file) = &upload.content else {
            continue;
        };
        let cells = [
            upload.id,
            file,
            upload.uploaded_at.unwrap_or(""),
            upload.host,
            upload.account,
        ];
        let cells: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    csv
}

/// RFC 4180 quoting, only where needed (none of today's values need it).
fn csv_cell(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

// ---------------------------------------------------------------------------------------
// CRLs
// ---------------------------------------------------------------------------------------

/// A CRL revoking one serial for keyCompromise, dated before the cutoff.
fn key_compromise_crl(serial: u64) -> CertificateRevocationListParams {
    CertificateRevocationListParams {
        this_update: datetime!(2016-10-01 0:00 UTC),
        next_update: FAR_FUTURE,
        crl_number: SerialNumber::from(7u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(serial),
            revocation_time: datetime!(2016-10-01 0:00 UTC),
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
}

/// The genuine CRL from the issuing CA, revoking `revoked`, as PEM and as DER.
fn write_demo_crl(dir: &Path, ca: &Ca) -> Result<()> {
    let crl = key_compromise_crl(SERIAL_REVOKED).signed_by(&ca.issuer())?;
    write_file(
        &dir.join("revocations.crl"),
        pem_block("X509 CRL", crl.der()),
    )?;
    write_file(&dir.join("revocations.der.crl"), crl.der())
}

/// A CRL that claims to come from the issuing CA (same issuer name) but is signed by
/// the unrelated CA's key. It lists `fresh`, so a tool that trusts CRLs by name alone
/// wrongly reports `fresh` as revoked.
fn forged_crl_pem(cas: &DemoCas) -> Result<String> {
    let impostor = Issuer::from_params(&cas.intermediate.params, &cas.other.key);
    let crl = key_compromise_crl(SERIAL_FRESH).signed_by(&impostor)?;
    Ok(pem_block("X509 CRL", crl.der()))
}

// ---------------------------------------------------------------------------------------
// broken/ and special/
// ---------------------------------------------------------------------------------------

/// Inputs the scanner must report as error records (or, for `forged.crl`, reject).
fn write_broken(dir: &Path, cas: &DemoCas, mail_der: &[u8]) -> Result<()> {
    let ca = &cas.intermediate;
    write_file(&dir.join("empty.pem"), b"")?;
    write_file(
        &dir.join("random.bin"),
        XorShift64::new(0x5eed_cafe_f00d_d00d).bytes(4096),
    )?;
    write_file(
        &dir.join("truncated.der"),
        &mail_der[..200.min(mail_der.len())],
    )?;
    write_file(
        &dir.join("bad-base64.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB!!!@@@this*is%not^base64~~~\n-----END CERTIFICATE-----\n",
    )?;

    let cert = extra_leaf(SERIAL_NO_END, "no-end.example.com", ca)?;
    let no_end = cert_pem(&cert).replace("-----END CERTIFICATE-----\n", "");
    write_file(&dir.join("no-end.pem"), no_end)?;

    write_file(
        &dir.join("key-only.pem"),
        pkcs8_pem(&new_key(&PKCS_ECDSA_P256_SHA256)?)?,
    )?;

    let cert = extra_leaf(SERIAL_WRONG_LABEL, "wrong-label.example.com", ca)?;
    let unknown_label = pem_block("FOO", b"this block has a label nobody knows");
    write_file(
        &dir.join("wrong-label.pem"),
        format!("{}{unknown_label}", cert_pem(&cert)),
    )?;

    // Well-formed DER, wrong structure: SEQUENCE { INTEGER 42, UTF8String }.
    let not_a_cert = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u64(42);
            w.next().write_utf8_string("not a certificate");
        })
    });
    write_file(
        &dir.join("not-a-cert.pem"),
        pem_block("CERTIFICATE", &not_a_cert),
    )?;

    write_file(
        &dir.join("text.txt"),
        "Hi team,\n\nthe certificates are attached in the next mail.\nNothing to parse here.\n",
    )?;
    write_file(&dir.join("forged.crl"), forged_crl_pem(cas)?)
}

/// Valid certificates in unusual wrappings that the scanner should still read.
fn write_special(dir: &Path, cas: &DemoCas) -> Result<()> {
    let ca = &cas.intermediate;

    // As pasted from an e-mail: every line indented by four spaces.
    let cert = extra_leaf(SERIAL_INDENTED, "indented.example.com", ca)?;
    let indented: String = cert_pem(&cert)
        .lines()
        .map(|line| format!("    {line}\n"))
        .collect();
    write_file(&dir.join("indented.pem"), indented)?;

    // DER followed by junk, as a careless copy would leave it.
    let cert = extra_leaf(SERIAL_TRAILING, "trailing.example.com", ca)?;
    let mut trailing = cert.der().to_vec();
    trailing.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef].repeat(4));
    write_file(&dir.join("trailing.der"), trailing)
}

/// Marsaglia's xorshift64: a tiny fixed-seed generator so `random.bin` is identical on
/// every run (unlike the keys, which must be random).
struct XorShift64(u64);

impl XorShift64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

// ---------------------------------------------------------------------------------------
// The tricky-subject certificate, encoded by hand
// ---------------------------------------------------------------------------------------
//
// rcgen's DistinguishedName keeps one value per attribute type and one attribute per RDN,
// and picks string types itself, so it cannot express this subject. The TBSCertificate is
// therefore written with yasna and signed with the issuing CA's key through aws-lc-rs.

/// The string types a DirectoryString (or DC / UID value) can take here.
enum DirString<'a> {
    Ia5(&'a str),
    Printable(&'a str),
    Utf8(&'a str),
    /// T61String. Only ASCII values are used, which encode the same in T.61.
    Teletex(&'a str),
}

/// One AttributeTypeAndValue.
struct Atv<'a> {
    oid: &'a [u64],
    value: DirString<'a>,
}

const fn atv<'a>(oid: &'a [u64], value: DirString<'a>) -> Atv<'a> {
    Atv { oid, value }
}

/// The subject, in encoded order (RFC 4514 / RFC 2253 print it reversed).
fn tricky_subject() -> Vec<Vec<Atv<'static>>> {
    use DirString::{Ia5, Printable, Teletex, Utf8};
    vec![
        vec![atv(OID_DOMAIN_COMPONENT, Ia5("com"))],
        vec![atv(OID_DOMAIN_COMPONENT, Ia5("example"))],
        vec![atv(OID_COUNTRY, Printable("DE"))],
        vec![atv(OID_LOCALITY, Utf8("Zürich"))],
        vec![atv(OID_ORGANIZATION, Utf8("Acme, Inc."))],
        vec![atv(OID_ORG_UNIT, Printable("Web"))],
        vec![atv(OID_ORG_UNIT, Utf8("Platform+Ops"))],
        vec![atv(OID_ORG_UNIT, Utf8("#hash"))],
        // A multi-valued RDN.
        vec![
            atv(OID_COMMON_NAME, Utf8("tricky.example.com")),
            atv(OID_USER_ID, Utf8("u123")),
        ],
        vec![atv(OID_STATE, Teletex(" padded "))],
    ]
}

fn encode_atv(atv: &Atv<'_>) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_oid(&ObjectIdentifier::from_slice(atv.oid));
            let w = w.next();
            match atv.value {
                DirString::Ia5(s) => w.write_ia5_string(s),
                DirString::Printable(s) => w.write_printable_string(s),
                DirString::Utf8(s) => w.write_utf8_string(s),
                DirString::Teletex(s) => w.write_tagged_der(&TaggedDerValue::from_tag_and_bytes(
                    TAG_TELETEXSTRING,
                    s.as_bytes().to_vec(),
                )),
            }
        })
    })
}

/// Name ::= SEQUENCE OF SET OF AttributeTypeAndValue. DER orders a SET OF by the
/// encodings of its elements, so each RDN's encoded values are sorted before writing.
fn encode_name(rdns: &[Vec<Atv<'_>>]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for rdn in rdns {
                let mut values: Vec<Vec<u8>> = rdn.iter().map(encode_atv).collect();
                values.sort();
                w.next().write_set(|set| {
                    for value in &values {
                        set.next().write_der(value);
                    }
                });
            }
        })
    })
}

/// Validity ::= SEQUENCE { notBefore, notAfter }. RFC 5280 section 4.1.2.5 wants
/// UTCTime through 2049 and GeneralizedTime from 2050 on.
fn encode_validity(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<Vec<u8>> {
    let encode_time = |at: OffsetDateTime| -> Result<TaggedDerValue> {
        let (tag, text) = if at.year() < 2050 {
            (
                TAG_UTCTIME,
                at.format(format_description!(
                    "[year repr:last_two][month][day][hour][minute][second]Z"
                ))?,
            )
        } else {
            (
                TAG_GENERALIZEDTIME,
                at.format(format_description!(
                    "[year][month][day][hour][minute][second]Z"
                ))?,
            )
        };
        Ok(TaggedDerValue::from_tag_and_bytes(tag, text.into_bytes()))
    };
    let (not_before, not_after) = (encode_time(not_before)?, encode_time(not_after)?);
    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_tagged_der(&not_before);
            w.next().write_tagged_der(&not_after);
        })
    }))
}

/// One certificate extension; `value` is the DER that goes inside the OCTET STRING.
struct Extension {
    oid: &'static [u64],
    critical: bool,
    value: Vec<u8>,
}

impl Extension {
    fn new(oid: &'static [u64], critical: bool, value: Vec<u8>) -> Self {
        Self {
            oid,
            critical,
            value,
        }
    }

    fn write(&self, w: DERWriter) {
        w.write_sequence(|w| {
            w.next().write_oid(&ObjectIdentifier::from_slice(self.oid));
            if self.critical {
                // DER omits a DEFAULT value, so `critical` is written only when true.
                w.next().write_bool(true);
            }
            w.next().write_bytes(&self.value);
        });
    }
}

/// GeneralName choices used in the tricky SAN (all IMPLICIT context tags).
enum GeneralName<'a> {
    Email(&'a str),
    Dns(&'a str),
    Uri(&'a str),
    Ip(IpAddr),
}

fn encode_san(names: &[GeneralName<'_>]) -> Vec<u8> {
    yasna::construct_der(|w| {
        w.write_sequence(|w| {
            for name in names {
                let w = w.next();
                match name {
                    GeneralName::Email(s) => {
                        w.write_tagged_implicit(Tag::context(1), |w| w.write_ia5_string(s))
                    }
                    GeneralName::Dns(s) => {
                        w.write_tagged_implicit(Tag::context(2), |w| w.write_ia5_string(s))
                    }
                    GeneralName::Uri(s) => {
                        w.write_tagged_implicit(Tag::context(6), |w| w.write_ia5_string(s))
                    }
                    GeneralName::Ip(IpAddr::V4(ip)) => {
                        w.write_tagged_implicit(Tag::context(7), |w| w.write_bytes(&ip.octets()))
                    }
                    GeneralName::Ip(IpAddr::V6(ip)) => {
                        w.write_tagged_implicit(Tag::context(7), |w| w.write_bytes(&ip.octets()))
                    }
                }
            }
        })
    })
}

/// The extension list: the same TLS-server profile rcgen gives the other leaves, plus a
/// SAN with every GeneralName type certsweep reports.
fn tricky_extensions(subject_key: &KeyPair, ca: &Ca) -> Result<Vec<Extension>> {
    // Key identifiers derived exactly as rcgen derives them (default parameters use
    // truncated SHA-256), so the AKI matches the SKI rcgen wrote into the CA certificate.
    let ski = CertificateParams::default().key_identifier(subject_key);
    let aki = ca.params.key_identifier(&ca.key);

    // An empty SEQUENCE means CA:FALSE: DER omits cA because FALSE is its default.
    let basic_constraints = yasna::construct_der(|w| w.write_sequence(|_| {}));
    // Bit 0 of the KeyUsage BIT STRING is digitalSignature.
    let key_usage = yasna::construct_der(|w| w.write_bitvec_bytes(&[0x80], 1));
    let eku = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next()
                .write_oid(&ObjectIdentifier::from_slice(OID_KP_SERVER_AUTH))
        })
    });
    let san = encode_san(&[
        GeneralName::Dns("tricky.example.com"),
        GeneralName::Dns("www.tricky.example.com"),
        GeneralName::Ip("192.0.2.10".parse()?),
        GeneralName::Ip("2001:db8::10".parse()?),
        GeneralName::Email("admin@tricky.example.com"),
        GeneralName::Uri("https://tricky.example.com/"),
    ]);
    let aki = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next()
                .write_tagged_implicit(Tag::context(0), |w| w.write_bytes(&aki))
        })
    });
    let ski = yasna::construct_der(|w| w.write_bytes(&ski));

    Ok(vec![
        Extension::new(OID_AUTHORITY_KEY_ID, false, aki),
        Extension::new(OID_SUBJECT_KEY_ID, false, ski),
        Extension::new(OID_BASIC_CONSTRAINTS, true, basic_constraints),
        Extension::new(OID_KEY_USAGE, true, key_usage),
        Extension::new(OID_EXT_KEY_USAGE, false, eku),
        Extension::new(OID_SUBJECT_ALT_NAME, false, san),
    ])
}

/// Builds and signs the tricky certificate, returning its DER.
fn build_tricky_cert(subject_key: &KeyPair, ca: &Ca) -> Result<Vec<u8>> {
    // The issuer must be byte-identical to the CA's subject, so copy it from the CA
    // certificate instead of re-encoding the name.
    let issuer = cert_subject_der(ca.cert.der())?;
    let subject = encode_name(&tricky_subject());
    let spki = rcgen::PublicKeyData::subject_public_key_info(subject_key);
    let extensions = tricky_extensions(subject_key, ca)?;
    let signature_algorithm = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next()
                .write_oid(&ObjectIdentifier::from_slice(OID_ECDSA_WITH_SHA256))
        })
    });

    let validity = encode_validity(datetime!(2016-09-01 0:00 UTC), FAR_FUTURE)?;
    let tbs = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_tagged(Tag::context(0), |w| w.write_u8(2)); // v3
            w.next().write_u64(SERIAL_TRICKY);
            w.next().write_der(&signature_algorithm);
            w.next().write_der(&issuer);
            w.next().write_der(&validity);
            w.next().write_der(&subject);
            w.next().write_der(&spki);
            w.next().write_tagged(Tag::context(3), |w| {
                w.write_sequence(|w| {
                    for extension in &extensions {
                        extension.write(w.next());
                    }
                })
            });
        })
    });

    let signer = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, ca.key.serialized_der())
        .map_err(|err| format!("issuing CA key is not a P-256 PKCS#8 key: {err}"))?;
    let signature = signer
        .sign(&SystemRandom::new(), &tbs)
        .map_err(|err| format!("signing the tricky certificate: {err}"))?;

    Ok(yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_der(&tbs);
            w.next().write_der(&signature_algorithm);
            w.next()
                .write_bitvec_bytes(signature.as_ref(), signature.as_ref().len() * 8);
        })
    }))
}

// ---------------------------------------------------------------------------------------
// Reading DER (just enough to take structures apart)
// ---------------------------------------------------------------------------------------

/// Splits concatenated DER elements (single-byte tags, definite lengths) into whole
/// element slices.
fn der_elements(mut buf: &[u8]) -> Result<Vec<&[u8]>> {
    let mut elements = Vec::new();
    while !buf.is_empty() {
        let (header, content) = der_header(buf)?;
        let (element, rest) = buf.split_at(header + content);
        elements.push(element);
        buf = rest;
    }
    Ok(elements)
}

/// The content of one DER element (after its tag and length).
fn der_content(element: &[u8]) -> Result<&[u8]> {
    let (header, content) = der_header(element)?;
    Ok(&element[header..header + content])
}

/// Returns (header length, content length) of the element at the start of `buf`.
fn der_header(buf: &[u8]) -> Result<(usize, usize)> {
    let first_len = *buf.get(1).ok_or("DER element too short")?;
    let (header, content) = if first_len < 0x80 {
        (2, usize::from(first_len))
    } else {
        // Long form: the low bits say how many length bytes follow. 0x80 (indefinite
        // length) is BER only, and nothing here comes near 4 GiB.
        let count = usize::from(first_len & 0x7f);
        if !(1..=4).contains(&count) {
            return Err("unsupported DER length".into());
        }
        let bytes = buf.get(2..2 + count).ok_or("DER length truncated")?;
        (
            2 + count,
            bytes
                .iter()
                .fold(0usize, |len, b| (len << 8) | usize::from(*b)),
        )
    };
    if buf.len() < header + content {
        return Err("DER element longer than its buffer".into());
    }
    Ok((header, content))
}

/// The subject Name (whole DER element) of a certificate.
fn cert_subject_der(cert_der: &[u8]) -> Result<Vec<u8>> {
    let certificate = der_content(cert_der)?;
    let tbs = *der_elements(certificate)?
        .first()
        .ok_or("certificate has no TBSCertificate")?;
    let fields = der_elements(der_content(tbs)?)?;
    // Skip the optional [0] version; then serial, signature, issuer, validity, subject.
    let skip_version = usize::from(fields.first().is_some_and(|f| f[0] == 0xa0));
    let subject = fields
        .get(skip_version + 4)
        .ok_or("TBSCertificate has no subject")?;
    Ok(subject.to_vec())
}

/// Splits a PKCS#8 PrivateKeyInfo into its algorithm identifier and its privateKey
/// OCTET STRING (both whole DER elements), ignoring any later optional fields.
fn pkcs8_parts(pkcs8: &[u8]) -> Result<(&[u8], &[u8])> {
    let fields = der_elements(der_content(pkcs8)?)?;
    let [_version, algorithm, private_key, ..] = fields[..] else {
        return Err("PKCS#8 structure too short".into());
    };
    Ok((algorithm, private_key))
}

// ---------------------------------------------------------------------------------------
// Key and PEM encodings
// ---------------------------------------------------------------------------------------

/// PEM with 64-column base64 and LF line ends (rcgen's own PEM uses CRLF on Windows).
fn pem_block(label: &str, der: &[u8]) -> String {
    let base64 = BASE64.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 output is ASCII"));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {label}-----\n"));
    pem
}

/// PKCS#8 "PRIVATE KEY", always as version 1 (no embedded public key). aws-lc-rs writes
/// Ed25519 keys as PKCS#8 v2 (OneAsymmetricKey), which OpenSSL 3.0 cannot read, while
/// Ed25519 keys made by OpenSSL are v1; so the scanner must derive the public key from
/// the private key, as it would in the field. EC and RSA keys are v1 already.
fn pkcs8_pem(key: &KeyPair) -> Result<String> {
    let (algorithm, private_key) = pkcs8_parts(key.serialized_der())?;
    let v1 = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(0);
            w.next().write_der(algorithm);
            w.next().write_der(private_key);
        })
    });
    Ok(pem_block("PRIVATE KEY", &v1))
}

/// PKCS#1 "RSA PRIVATE KEY": the RSAPrivateKey that PKCS#8 wraps, unwrapped.
fn pkcs1_pem(key: &KeyPair) -> Result<String> {
    let (_algorithm, private_key) = pkcs8_parts(key.serialized_der())?;
    Ok(pem_block("RSA PRIVATE KEY", der_content(private_key)?))
}

/// SEC1 "EC PRIVATE KEY" (RFC 5915) with the optional [0] curve and [1] public key
/// filled in, as OpenSSL writes it. Inside PKCS#8 the curve sits in the algorithm
/// identifier instead, so a plain unwrap would lose it.
fn sec1_pem(key: &KeyPair) -> Result<String> {
    let (algorithm, private_key) = pkcs8_parts(key.serialized_der())?;
    // AlgorithmIdentifier ::= SEQUENCE { id-ecPublicKey, namedCurve OID }
    let [_ec_public_key, curve] = der_elements(der_content(algorithm)?)?[..] else {
        return Err("EC algorithm identifier must hold two OIDs".into());
    };
    // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, [0]?, [1]? }
    let inner = der_elements(der_content(der_content(private_key)?)?)?;
    let secret = der_content(inner.get(1).ok_or("ECPrivateKey has no private key")?)?;
    let public_point = key.public_key_raw();

    let sec1 = yasna::construct_der(|w| {
        w.write_sequence(|w| {
            w.next().write_u8(1);
            w.next().write_bytes(secret);
            w.next()
                .write_tagged(Tag::context(0), |w| w.write_der(curve));
            w.next().write_tagged(Tag::context(1), |w| {
                w.write_bitvec_bytes(public_point, public_point.len() * 8)
            });
        })
    });
    Ok(pem_block("EC PRIVATE KEY", &sec1))
}

// ---------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------

/// Writes a file, creating its folder; errors name the path.
fn write_file(path: &Path, bytes: impl AsRef<[u8]>) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|err| format!("creating {}: {err}", parent.display()))?;
    }
    fs::write(path, bytes).map_err(|err| format!("writing {}: {err}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> std::result::Result<Option<PathBuf>, String> {
        parse_args(list.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn help_prints_usage_instead_of_becoming_a_folder() {
        assert_eq!(args(&["--help"]), Ok(None));
        assert_eq!(args(&["-h"]), Ok(None));
    }

    #[test]
    fn unknown_options_and_extra_arguments_are_refused() {
        assert!(args(&["--out"])
            .unwrap_err()
            .contains("unknown option `--out`"));
        assert!(args(&["a", "b"])
            .unwrap_err()
            .contains("extra argument `b`"));
    }

    #[test]
    fn one_folder_or_the_default() {
        assert_eq!(args(&[]), Ok(Some(PathBuf::from("fixtures"))));
        assert_eq!(args(&["out"]), Ok(Some(PathBuf::from("out"))));
        assert_eq!(args(&["--", "--help"]), Ok(Some(PathBuf::from("--help"))));
    }
}
