//! NDJSON benchmark input for `scan --stream`, written to stdout (never stored).
//!
//! Usage: `gen-ndjson N [--pool P] [--seed S] [--manifest]`
//!
//! Signing is the slow part of making certificates (~60 µs each), so a pool of P signed
//! certificates (default min(N, 100000)) is made once and line i carries pool[i mod P] with
//! its own id (`cNNNNNNNNN`), host and upload date: with P < N the same certificate appears
//! under several ids. Leaves: ECDSA P-256 keys from a pool of max(P/20, 8) (about 20
//! certificates per key, so key reuse is common), one issuing CA, notBefore uniform in
//! 2013-01-01..2026-01-01, notAfter notBefore + 90..1200 days, uploaded notBefore + 0..60 days.
//!
//! `--manifest` writes the same N uploads as one JSON manifest with inline `pem` instead (for
//! the in-memory scan, `scan --manifest`); with P = N both forms hold the same certificates.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use base64::Engine;
use rayon::prelude::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use time::{Duration, OffsetDateTime};

struct Pooled {
    der_b64: String,
    pem: String,
    not_before: OffsetDateTime,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut n: Option<u64> = None;
    let (mut pool, mut seed, mut manifest) = (None, 1u64, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--pool" => pool = args.next().and_then(|v| v.parse().ok()),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--manifest" => manifest = true,
            _ => n = a.parse().ok(),
        }
    }
    let Some(n) = n else {
        eprintln!("usage: gen-ndjson N [--pool P] [--seed S] [--manifest]");
        return ExitCode::from(2);
    };
    let pool_size = pool.unwrap_or(n.min(100_000)).clamp(1, n.max(1)) as usize;
    let started = std::time::Instant::now();
    let pool = make_pool(pool_size, seed);
    eprintln!(
        "gen-ndjson: {pool_size} certificates signed in {:.1}s; writing {n} lines",
        started.elapsed().as_secs_f64()
    );
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    match write_all(&mut out, n, &pool, seed, manifest).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader stopped (a pipe closed): not an error of the generator.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-ndjson: {e}");
            ExitCode::FAILURE
        }
    }
}

fn make_pool(size: usize, seed: u64) -> Vec<Pooled> {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "certsweep bench NDJSON CA");
    ca_params.not_before = rcgen::date_time_ymd(2012, 1, 1);
    ca_params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("CA");
    let keys: Vec<KeyPair> = (0..(size / 20).max(8))
        .into_par_iter()
        .map(|_| KeyPair::generate().expect("key"))
        .collect();
    let span = (rcgen::date_time_ymd(2026, 1, 1) - rcgen::date_time_ymd(2013, 1, 1)).whole_days();
    (0..size)
        .into_par_iter()
        .map(|i| {
            let r = splitmix(seed ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
            let host = format!("pool{i:07}.bench.example");
            let mut p = CertificateParams::new(vec![host.clone()]).expect("params");
            p.distinguished_name.push(DnType::CommonName, host);
            p.not_before =
                rcgen::date_time_ymd(2013, 1, 1) + Duration::days((r % span as u64) as i64);
            p.not_after = p.not_before + Duration::days(90 + ((r >> 20) % 1111) as i64);
            let key = &keys[(r >> 40) as usize % keys.len()];
            let cert = p.signed_by(key, &ca).expect("sign");
            Pooled {
                der_b64: base64::engine::general_purpose::STANDARD.encode(cert.der()),
                pem: cert.pem(),
                not_before: p.not_before,
            }
        })
        .collect()
}

fn write_all(
    out: &mut impl Write,
    n: u64,
    pool: &[Pooled],
    seed: u64,
    manifest: bool,
) -> io::Result<()> {
    let fmt = time::format_description::well_known::Rfc3339;
    if manifest {
        out.write_all(b"{\"uploads\":[\n")?;
    }
    for i in 0..n {
        let c = &pool[(i % pool.len() as u64) as usize];
        let r = splitmix(seed.wrapping_mul(31) ^ i);
        let uploaded = c.not_before + Duration::seconds((r % (60 * 86_400)) as i64);
        let uploaded = uploaded.format(&fmt).map_err(io::Error::other)?;
        if manifest {
            let pem = serde_json::to_string(&c.pem).map_err(io::Error::other)?;
            write!(
                out,
                "{}{{\"id\":\"c{i:09}\",\"pem\":{pem},\"uploaded_at\":\"{uploaded}\",\"host\":\"h{i}.bench.example\",\"account\":\"bench\"}}",
                if i == 0 { "" } else { ",\n" }
            )?;
        } else {
            writeln!(
                out,
                "{{\"id\":\"c{i:09}\",\"der_b64\":\"{}\",\"uploaded_at\":\"{uploaded}\",\"host\":\"h{i}.bench.example\",\"account\":\"bench\"}}",
                c.der_b64
            )?;
        }
    }
    if manifest {
        out.write_all(b"\n]}\n")?;
    }
    Ok(())
}
