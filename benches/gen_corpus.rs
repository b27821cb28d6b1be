//! gen-corpus: writes a synthetic TLS certificate inventory for benchmarking certsweep.
//!
//! Usage: `gen-corpus N OUTDIR [--seed S] [--keys K|distinct]`
//!
//! `--keys` sets the key-sharing shape: K pool keys spread at random over the N leaves
//! (`--keys 20`: about N/20 certificates per key), or `distinct`, one key per leaf. Default:
//! max(N/20, 8) keys, about 20 certificates per key.
//!
//! Output (OUTDIR must be absent or empty):
//!   OUTDIR/bundle.pem        all N leaf certificates concatenated (PEM)
//!   OUTDIR/certs/NNNNNN.pem  the same N certificates, one per file
//!   OUTDIR/manifest.json     {"uploads":[{"id","file","uploaded_at","host","account"}, ...]}
//!   OUTDIR/manifest.csv      the same rows, header `id,file,uploaded_at,host,account`
//!   OUTDIR/ca.pem            root + 3 issuing CA certificates (not part of the inventory;
//!                            handy for `openssl verify`)
//!
//! Determinism: for a given N and seed, every certificate field (issuer, subject, SAN,
//! serial, validity, which pool key it carries) and both manifests are identical on every
//! run. Every value comes from a splitmix64 stream keyed by (seed, purpose, index), so the
//! result does not depend on the order rayon happens to run things in.
//! ECDSA P-256 and Ed25519 keys (CA keys and pool keys) are derived from that seeded stream
//! too, so their public keys are stable as well. The certificate *bytes* still differ between
//! runs: ECDSA signatures use a random nonce, and the few RSA-2048 pool keys come from the
//! system RNG because deriving RSA keys from a seed is not cheap.
//!
//! This file is self-contained on purpose: it is built as an example of certsweep but must
//! not share code with the tool it benchmarks.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use aws_lc_rs::agreement;
use aws_lc_rs::signature::{self as lc_sig, KeyPair as _};
use rayon::prelude::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, PublicKeyData, RsaKeySize, SerialNumber, SignatureAlgorithm,
    PKCS_ECDSA_P256_SHA256, PKCS_ED25519, PKCS_RSA_SHA256,
};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const USAGE: &str = "usage: gen-corpus N OUTDIR [--seed S] [--keys K|distinct]";
const DEFAULT_SEED: u64 = 0x00C0_FFEE_5EED;

/// Leaves are signed and written in chunks so progress can be reported and memory stays flat.
const CHUNK: usize = 5_000;
/// Issuing CAs under the single root.
const ISSUING_CAS: usize = 3;
/// Pool slot `i` holds an RSA-2048 key when `i % RSA_EVERY == RSA_OFFSET`, for the first
/// RSA_MAX such slots: RSA-2048 key generation is thousands of times slower than P-256
/// (~80 ms a key here), so RSA stays rare.
const RSA_EVERY: usize = 50;
const RSA_OFFSET: usize = 25;
const RSA_MAX: usize = 50;
/// A few Ed25519 keys (slots with `i % ED25519_EVERY == ED25519_OFFSET`) for algorithm variety.
/// The offsets never coincide with RSA slots.
const ED25519_EVERY: usize = 25;
const ED25519_OFFSET: usize = 10;

const NOT_BEFORE_MIN: OffsetDateTime = datetime!(2013-01-01 00:00:00 UTC);
const NOT_BEFORE_MAX: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
const NOT_AFTER_CAP: OffsetDateTime = datetime!(2030-12-31 23:59:59 UTC);
const LIFETIME_DAYS: (u64, u64) = (90, 1200);
const UPLOAD_DELAY_MAX_DAYS: u64 = 60;

/// Independent PRNG streams, one per purpose, so adding a draw to one never shifts another.
mod stream {
    pub const CA_KEY: u64 = 1;
    pub const POOL_KEY: u64 = 2;
    pub const LEAF: u64 = 3;
}

fn main() -> ExitCode {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("gen-corpus: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("gen-corpus: {msg}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Command line

struct Args {
    n: usize,
    outdir: PathBuf,
    seed: u64,
    keys: Keys,
}

/// How many keys the leaves share.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// max(N/20, 8) keys.
    Default,
    /// This many keys, each leaf's drawn at random.
    Pool(usize),
    /// Leaf `i` has pool key `i`.
    Distinct,
}

impl Args {
    fn parse(mut argv: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut positional = Vec::new();
        let mut seed = DEFAULT_SEED;
        let mut keys = Keys::Default;
        while let Some(arg) = argv.next() {
            match arg.as_str() {
                "--seed" => {
                    let value = argv.next().ok_or("--seed needs a value")?;
                    seed = parse_u64(&value).ok_or(format!("bad --seed value {value:?}"))?;
                }
                "--keys" => {
                    let value = argv.next().ok_or("--keys needs a value")?;
                    keys = match value.as_str() {
                        "distinct" => Keys::Distinct,
                        v => match v.parse::<usize>() {
                            Ok(k) if k > 0 => Keys::Pool(k),
                            _ => return Err(format!("bad --keys value {value:?}")),
                        },
                    };
                }
                "-h" | "--help" => return Err("help requested".into()),
                _ if arg.starts_with('-') => return Err(format!("unknown option {arg:?}")),
                _ => positional.push(arg),
            }
        }
        let [n, outdir] = <[String; 2]>::try_from(positional)
            .map_err(|_| "expected exactly two arguments, N and OUTDIR".to_string())?;
        let n: usize = n
            .parse()
            .map_err(|_| format!("N must be a positive integer, got {n:?}"))?;
        if n == 0 {
            return Err("N must be at least 1".into());
        }
        Ok(Self {
            n,
            outdir: PathBuf::from(outdir),
            seed,
            keys,
        })
    }
}

/// Accepts decimal or 0x-prefixed hex.
fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (splitmix64): tiny, fast, and good enough for test data. Not for cryptography:
// the keys it seeds exist only to be put in test certificates.

#[derive(Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream for one (purpose, index) pair, independent of all others.
    fn stream(seed: u64, purpose: u64, index: u64) -> Self {
        Self(mix(seed ^ mix(purpose.wrapping_add(mix(index)))))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..bound` (multiply-shift; the bias is far below anything measurable here).
    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// The splitmix64 output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------------------------
// Keys

/// The public half of a pool key. Leaves are only ever signed *by* a CA, never with their own
/// key, so the pool needs no private keys; rcgen only needs `PublicKeyData` for the subject.
struct PoolKey {
    alg: &'static SignatureAlgorithm,
    /// Raw key as rcgen expects it: uncompressed EC point, Ed25519 bytes, or PKCS#1 RSA key.
    public: Vec<u8>,
}

impl PublicKeyData for PoolKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    EcdsaP256,
    Ed25519,
    Rsa2048,
}

/// Which algorithm pool slot `i` uses. Fixed by position so the mix is deterministic.
fn pool_key_kind(i: usize) -> KeyKind {
    if i % RSA_EVERY == RSA_OFFSET && i / RSA_EVERY < RSA_MAX {
        KeyKind::Rsa2048
    } else if i % ED25519_EVERY == ED25519_OFFSET {
        KeyKind::Ed25519
    } else {
        KeyKind::EcdsaP256
    }
}

fn pool_size(n: usize, keys: Keys) -> usize {
    match keys {
        Keys::Default => (n / 20).max(8),
        Keys::Pool(k) => k,
        Keys::Distinct => n,
    }
}

fn make_pool(seed: u64, size: usize) -> Vec<PoolKey> {
    (0..size)
        .into_par_iter()
        .map(|i| {
            let mut rng = SplitMix64::stream(seed, stream::POOL_KEY, i as u64);
            match pool_key_kind(i) {
                KeyKind::EcdsaP256 => PoolKey {
                    alg: &PKCS_ECDSA_P256_SHA256,
                    public: p256_from_rng(&mut rng).1,
                },
                KeyKind::Ed25519 => PoolKey {
                    alg: &PKCS_ED25519,
                    public: ed25519_from_rng(&mut rng),
                },
                KeyKind::Rsa2048 => {
                    let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
                        .expect("aws-lc-rs generates RSA-2048 keys");
                    PoolKey {
                        alg: &PKCS_RSA_SHA256,
                        public: key.der_bytes().to_vec(),
                    }
                }
            }
        })
        .collect()
}

/// Derives a P-256 key from the stream: returns (private scalar, uncompressed public point).
/// A random 32-byte string is a valid scalar with overwhelming probability; retry otherwise.
fn p256_from_rng(rng: &mut SplitMix64) -> ([u8; 32], Vec<u8>) {
    loop {
        let mut scalar = [0u8; 32];
        rng.fill(&mut scalar);
        let Ok(private) = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, &scalar)
        else {
            continue;
        };
        let public = private
            .compute_public_key()
            .expect("public key of a valid P-256 scalar");
        return (scalar, public.as_ref().to_vec());
    }
}

fn ed25519_from_rng(rng: &mut SplitMix64) -> Vec<u8> {
    let mut seed = [0u8; 32];
    rng.fill(&mut seed);
    let key = lc_sig::Ed25519KeyPair::from_seed_unchecked(&seed)
        .expect("any 32 bytes are an Ed25519 seed");
    key.public_key().as_ref().to_vec()
}

/// A signing-capable P-256 key derived from the stream, for the CAs.
fn p256_signing_key(rng: &mut SplitMix64) -> KeyPair {
    let (scalar, public) = p256_from_rng(rng);
    let key = lc_sig::EcdsaKeyPair::from_private_key_and_public_key(
        &lc_sig::ECDSA_P256_SHA256_ASN1_SIGNING,
        &scalar,
        &public,
    )
    .expect("scalar and point were derived together");
    let pkcs8 = key.to_pkcs8v1().expect("serialize P-256 key as PKCS#8");
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8.as_ref().into(), &PKCS_ECDSA_P256_SHA256)
        .expect("rcgen accepts the PKCS#8 produced by aws-lc-rs")
}

// ---------------------------------------------------------------------------------------------
// Certificate authorities

type Ca = CertifiedIssuer<'static, KeyPair>;

struct CaSet {
    root: Ca,
    issuing: Vec<Ca>,
}

fn make_cas(seed: u64) -> CaSet {
    let key = |i: u64| p256_signing_key(&mut SplitMix64::stream(seed, stream::CA_KEY, i));

    let root_params = ca_params(
        "certsweep Bench Root CA",
        BasicConstraints::Unconstrained,
        datetime!(2010-01-01 00:00:00 UTC),
        datetime!(2040-01-01 00:00:00 UTC),
        1,
    );
    let root = Ca::self_signed(root_params, key(0)).expect("self-sign the root CA");

    let issuing = (1..=ISSUING_CAS)
        .map(|i| {
            let params = ca_params(
                &format!("certsweep Bench Issuing CA {i}"),
                BasicConstraints::Constrained(0),
                datetime!(2012-01-01 00:00:00 UTC),
                datetime!(2035-01-01 00:00:00 UTC),
                1 + i as u8,
            );
            Ca::signed_by(params, key(i as u64), &root).expect("root signs an issuing CA")
        })
        .collect();
    CaSet { root, issuing }
}

fn ca_params(
    cn: &str,
    constraints: BasicConstraints,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: u8,
) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("no SANs to validate");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, "certsweep bench");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(constraints);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(SerialNumber::from_slice(&[serial]));
    params.not_before = not_before;
    params.not_after = not_after;
    params
}

// ---------------------------------------------------------------------------------------------
// Leaves

/// Everything about one leaf except the signature: a pure function of (seed, index, pool size).
struct LeafPlan {
    index: usize,
    host: String,
    serial: [u8; 16],
    issuer: usize,
    key: usize,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    uploaded_at: OffsetDateTime,
}

fn plan_leaf(seed: u64, index: usize, pool_len: usize, keys: Keys) -> LeafPlan {
    let mut rng = SplitMix64::stream(seed, stream::LEAF, index as u64);
    let issuer = rng.below(ISSUING_CAS as u64) as usize;
    // Drawn in every shape, so the other fields do not depend on the shape.
    let drawn = rng.below(pool_len as u64) as usize;
    let key = if keys == Keys::Distinct { index } else { drawn };

    let span = (NOT_BEFORE_MAX - NOT_BEFORE_MIN).whole_seconds() as u64;
    let not_before = NOT_BEFORE_MIN + seconds(rng.below(span));
    let lifetime = Duration::days(rng.between(LIFETIME_DAYS.0, LIFETIME_DAYS.1) as i64);
    let not_after = (not_before + lifetime).min(NOT_AFTER_CAP);
    let upload_delay = rng.between(0, UPLOAD_DELAY_MAX_DAYS * 86_400);
    let uploaded_at = not_before + seconds(upload_delay);

    // Serial: a fixed positive leading byte, 7 random bytes, then the index, so serials are
    // unique by construction and always 16 bytes long in DER.
    let mut serial = [0u8; 16];
    serial[0] = 0x5C;
    rng.fill(&mut serial[1..8]);
    serial[8..].copy_from_slice(&(index as u64).to_be_bytes());

    LeafPlan {
        index,
        host: host_name(index),
        serial,
        issuer,
        key,
        not_before,
        not_after,
        uploaded_at,
    }
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).expect("offsets are a few years at most"))
}

fn host_name(index: usize) -> String {
    format!("host{index:06}.bench.example")
}

fn cert_file(index: usize) -> String {
    format!("certs/{index:06}.pem")
}

fn sign_leaf(plan: &LeafPlan, cas: &CaSet, pool: &[PoolKey]) -> String {
    let mut params =
        CertificateParams::new(vec![plan.host.clone()]).expect("host names are valid DNS names");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, plan.host.as_str());
    params.serial_number = Some(SerialNumber::from_slice(&plan.serial));
    params.not_before = plan.not_before;
    params.not_after = plan.not_after;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params
        .signed_by(&pool[plan.key], &cas.issuing[plan.issuer])
        .expect("issuing CA signs a leaf")
        .pem()
}

// ---------------------------------------------------------------------------------------------
// Output

/// The four inventory outputs, written in index order.
struct Outputs {
    dir: PathBuf,
    bundle: BufWriter<File>,
    json: BufWriter<File>,
    csv: BufWriter<File>,
    rows: usize,
}

impl Outputs {
    fn create(dir: &Path) -> Result<Self, String> {
        ensure_empty_dir(dir)?;
        fs::create_dir_all(dir.join("certs")).map_err(|e| format!("create {dir:?}/certs: {e}"))?;
        let open = |name: &str| -> Result<BufWriter<File>, String> {
            let path = dir.join(name);
            File::create(&path)
                .map(|f| BufWriter::with_capacity(1 << 20, f))
                .map_err(|e| format!("create {path:?}: {e}"))
        };
        let mut out = Self {
            dir: dir.to_path_buf(),
            bundle: open("bundle.pem")?,
            json: open("manifest.json")?,
            csv: open("manifest.csv")?,
            rows: 0,
        };
        out.json
            .write_all(b"{\"uploads\":[\n")
            .map_err(io_err("manifest.json"))?;
        out.csv
            .write_all(b"id,file,uploaded_at,host,account\n")
            .map_err(io_err("manifest.csv"))?;
        Ok(out)
    }

    /// Writes one chunk: per-certificate files in parallel (order does not matter there),
    /// then the bundle and manifests sequentially in index order.
    fn write_chunk(&mut self, plans: &[LeafPlan], pems: &[String]) -> Result<(), String> {
        plans.par_iter().zip(pems).try_for_each(|(plan, pem)| {
            let path = self.dir.join(cert_file(plan.index));
            fs::write(&path, pem).map_err(|e| format!("write {path:?}: {e}"))
        })?;
        for (plan, pem) in plans.iter().zip(pems) {
            self.bundle
                .write_all(pem.as_bytes())
                .map_err(io_err("bundle.pem"))?;
            self.write_manifest_row(plan)?;
        }
        Ok(())
    }

    fn write_manifest_row(&mut self, plan: &LeafPlan) -> Result<(), String> {
        let id = format!("c{:06}", plan.index);
        let file = cert_file(plan.index);
        let uploaded_at = plan
            .uploaded_at
            .format(&Rfc3339)
            .expect("RFC 3339 formats any UTC time");
        // Written by hand (not via a serde_json::Value map) to keep the documented key order;
        // values go through serde_json for correct escaping.
        let separator = if self.rows == 0 { "" } else { ",\n" };
        writeln!(
            self.csv,
            "{id},{file},{uploaded_at},{host},bench",
            host = plan.host
        )
        .map_err(io_err("manifest.csv"))?;
        write!(
            self.json,
            "{separator}{{\"id\":{},\"file\":{},\"uploaded_at\":{},\"host\":{},\"account\":\"bench\"}}",
            json_str(&id),
            json_str(&file),
            json_str(&uploaded_at),
            json_str(&plan.host),
        )
        .map_err(io_err("manifest.json"))?;
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<(), String> {
        self.json
            .write_all(b"\n]}\n")
            .map_err(io_err("manifest.json"))?;
        for (name, w) in [
            ("bundle.pem", self.bundle),
            ("manifest.json", self.json),
            ("manifest.csv", self.csv),
        ] {
            w.into_inner()
                .map_err(|e| format!("flush {name}: {e}"))?
                .sync_all()
                .map_err(io_err(name))?;
        }
        Ok(())
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn io_err(what: &'static str) -> impl Fn(std::io::Error) -> String {
    move |e| format!("{what}: {e}")
}

/// Refuses a non-empty OUTDIR: stale certs/*.pem from a bigger earlier run would silently
/// end up in the per-file benchmark.
fn ensure_empty_dir(dir: &Path) -> Result<(), String> {
    match fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => Err(format!(
                "{dir:?} is not empty; remove it or pick another OUTDIR"
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("read {dir:?}: {e}")),
    }
}

fn write_ca_chain(dir: &Path, cas: &CaSet) -> Result<(), String> {
    let chain: String = std::iter::once(&cas.root)
        .chain(&cas.issuing)
        .map(|ca| ca.pem())
        .collect();
    fs::write(dir.join("ca.pem"), chain).map_err(io_err("ca.pem"))
}

/// Sanity check that the hand-written JSON parses and has one row per certificate.
fn check_manifest(dir: &Path, n: usize) -> Result<(), String> {
    let text = fs::read_to_string(dir.join("manifest.json")).map_err(io_err("manifest.json"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("manifest.json does not parse: {e}"))?;
    let rows = value["uploads"].as_array().map_or(0, Vec::len);
    if rows == n {
        Ok(())
    } else {
        Err(format!("manifest.json has {rows} uploads, expected {n}"))
    }
}

// ---------------------------------------------------------------------------------------------

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let elapsed = || started.elapsed().as_secs_f64();
    eprintln!(
        "gen-corpus: N={} seed={:#x} outdir={} threads={}",
        args.n,
        args.seed,
        args.outdir.display(),
        rayon::current_num_threads()
    );

    let mut out = Outputs::create(&args.outdir)?;

    let cas = make_cas(args.seed);
    write_ca_chain(&args.outdir, &cas)?;

    let pool = make_pool(args.seed, pool_size(args.n, args.keys));
    let rsa = (0..pool.len())
        .filter(|&i| pool_key_kind(i) == KeyKind::Rsa2048)
        .count();
    let ed = (0..pool.len())
        .filter(|&i| pool_key_kind(i) == KeyKind::Ed25519)
        .count();
    eprintln!(
        "  key pool: {} keys ({} P-256, {ed} Ed25519, {rsa} RSA-2048) in {:.2}s",
        pool.len(),
        pool.len() - rsa - ed,
        elapsed()
    );

    for start in (0..args.n).step_by(CHUNK) {
        let end = (start + CHUNK).min(args.n);
        // par_iter().collect() keeps index order, so the bundle and manifests are in order.
        let plans: Vec<LeafPlan> = (start..end)
            .into_par_iter()
            .map(|i| plan_leaf(args.seed, i, pool.len(), args.keys))
            .collect();
        let pems: Vec<String> = plans
            .par_iter()
            .map(|p| sign_leaf(p, &cas, &pool))
            .collect();
        out.write_chunk(&plans, &pems)?;
        eprintln!("  {end}/{} certificates ({:.2}s)", args.n, elapsed());
    }
    out.finish()?;
    check_manifest(&args.outdir, args.n)?;

    eprintln!("gen-corpus: done in {:.2}s", elapsed());
    Ok(())
}
