//! The PEM reader alone: every block or fault, whatever the bytes.
#![no_main]

use certsweep::inventory::pem::{PemItem, PemReader};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut blocks = 0;
    for item in PemReader::new(data) {
        if let PemItem::Block(b) = item {
            assert!(b.number > blocks, "block numbers increase");
            blocks = b.number;
        }
    }
});
