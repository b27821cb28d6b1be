//! The input sniffer: PEM, DER certificates, PKCS#7, PKCS#12 and keys, as `scan` reads a file.
#![no_main]

use std::io::Cursor;

use certsweep::inventory::{self, limits, ReadOptions};
use libfuzzer_sys::fuzz_target;
use zeroize::Zeroizing;

fuzz_target!(|data: &[u8]| {
    // A small PKCS#12 budget per input: hostile iteration counts are refused quickly, so
    // libFuzzer spends its time on structure, not on PBKDF2.
    limits::configure(1 << 20, limits::DEFAULT_MAX_CERTS, 200_000);
    let password = Zeroizing::new(b"correct horse battery staple".to_vec());
    let opts = ReadOptions {
        key_only_ok: true,
        keep_der: true,
        p12_password: Some(&password),
        key_passphrase: Some(&password),
    };
    let _ = inventory::read_input_with(Cursor::new(data), &opts);
});
