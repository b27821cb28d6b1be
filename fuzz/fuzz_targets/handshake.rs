//! Bytes from a server before TLS: the legacy TLS capture's record and handshake reader,
//! and the STARTTLS preludes. The first byte picks the reader, the second how many bytes
//! each read returns.
#![no_main]

use certsweep::probe::legacy;
use certsweep::probe::starttls::{self, Starttls};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(([which, chunk], server)) = data.split_first_chunk::<2>().map(|(h, r)| (*h, r))
    else {
        return;
    };
    let chunk = usize::from(chunk).max(1) * 64;
    let err = match usize::from(which) % 9 {
        8 => match legacy::fuzz_capture(server, chunk) {
            Ok(c) => {
                assert!(!c.chain.is_empty());
                return;
            }
            Err(e) => e,
        },
        i => match starttls::fuzz_prelude(Starttls::ALL[i], server, chunk) {
            Ok(()) => return,
            Err(e) => e,
        },
    };
    // Server text in the sentence is escaped where it is printed; the sentence is never empty.
    assert!(!err.trim().is_empty());
});
