//! Manifests, JSON and CSV (the first byte picks which), as `--manifest` reads them.
#![no_main]

use std::path::Path;

use certsweep::inventory::{manifest, Inventory};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let name = match which % 3 {
        0 => "uploads/manifest.json",
        1 => "uploads/manifest.csv",
        _ => "uploads/manifest.txt", // sniffed from the first character
    };
    let mut inv = Inventory::default();
    let confined = which & 0x80 != 0;
    let entries = manifest::parse(Path::new(name), rest.to_vec(), &mut inv, confined);
    // Summarised: never more records than a few per kind plus their counts.
    assert!(inv.errors.len() + inv.warnings.len() <= 2 * rest.len() + 2);
    drop(entries);
});
