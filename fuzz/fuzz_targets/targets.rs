//! `probe --targets` files: JSON, CSV or plain lines (the first byte picks the file name's
//! extension). Every target read must print as an address that reads back to itself.
#![no_main]

use certsweep::probe::targets;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let ext = match which % 4 {
        0 => "txt",
        1 => "csv",
        2 => "json",
        _ => "list", // sniffed
    };
    let path = std::env::temp_dir().join(format!(
        "certsweep-fuzz-targets-{}.{ext}",
        std::process::id()
    ));
    std::fs::write(&path, rest).expect("write the input");
    let sni = (which & 0x80 != 0).then_some("sni.example");
    let mut errors = Vec::new();
    let found = targets::read_file(&path, sni, None, &mut errors);
    for e in &errors {
        assert!(e.reason.starts_with("--targets: "), "{:?}", e.reason);
    }
    for t in &found {
        let again = targets::parse(&t.address(), t.sni.as_deref())
            .unwrap_or_else(|e| panic!("{} does not read back: {e}", t.address()));
        assert_eq!(again.address(), t.address());
        assert_eq!(again.sni, t.sni);
        let _ = t.to_string();
    }
});
