//! What an ACME CA sends that certsweep reads itself: the directory, the answer to
//! revokeCert, problem documents (and their mapping to a sentence), and the CSR's names.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first two bytes pick the HTTP status (mostly 200, 400 and 403).
    let Some((head, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let status = match head[0] % 4 {
        0 => 200,
        1 => 400,
        2 => 403,
        _ => 100 + u16::from_be_bytes(*head) % 500,
    };
    for r in certsweep::rotate::fuzz_ca_answer(status, body) {
        if let Err(sentence) = r {
            assert!(!sentence.trim().is_empty(), "an empty error");
        }
    }
});
