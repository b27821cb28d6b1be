//! CSRs and CRLs as `inspect` reads them (PEM blocks or one DER input), rendered as the
//! table, CSV rows and JSON.
#![no_main]

use certsweep::inspect;
use libfuzzer_sys::fuzz_target;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let others = inspect::fuzz_read_others(data, "input", datetime!(2026-11-24 0:00 UTC));
    for (_, reason) in &others.errors {
        assert!(!reason.is_empty());
    }
    let mut out = Vec::new();
    inspect::fuzz_write_others(&others.csrs, &others.crls, false, &mut out).expect("to memory");
    let _ = inspect::fuzz_other_csv_rows(&others.csrs, &others.crls);
    serde_json::to_vec(&others.csrs).expect("CSRs as JSON");
    serde_json::to_vec(&others.crls).expect("CRLs as JSON");
});
