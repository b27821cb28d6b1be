//! `certsweep merge` inputs (summaries: JSON reports, `--summary-only` objects, NDJSON) and
//! `--exposed-keys` lists. The first byte picks which; merge inputs are split on 0xff into
//! several SUMMARY files. An exposed-key list written out reads back to the same list.
#![no_main]

use certsweep::stream::exposed::{ExposedSet, Origin};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        let texts: Vec<String> = rest
            .split(|&b| b == 0xff)
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (_summary, problems) = certsweep::merge::fuzz_merge(&texts);
        for p in &problems {
            assert!(!p.trim().is_empty());
        }
    } else {
        let mut set = ExposedSet::new(Origin::Listed);
        let Ok(bad) = set.read_list(rest) else { return };
        for (line, reason) in &bad {
            assert!(*line >= 1 && !reason.is_empty());
        }
        set.finish();
        let mut out = Vec::new();
        set.write(&mut out).expect("write to memory");
        let mut again = ExposedSet::new(Origin::Listed);
        assert!(again.read_list(&out[..]).expect("read from memory").is_empty());
        again.finish();
        let mut out2 = Vec::new();
        again.write(&mut out2).expect("write to memory");
        assert_eq!(out, out2, "an exposed-key list does not read back to itself");
    }
});
