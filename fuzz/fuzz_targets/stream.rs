//! `scan --stream` NDJSON upload lines: split as the stream reader splits them, each read
//! as one upload; the first pass's header walk must find the key the full parser finds.
#![no_main]

use std::io::Cursor;

use certsweep::cert;
use certsweep::inventory::{self, ReadOptions};
use certsweep::stream::exposed::spki_of_cert;
use certsweep::stream::ndjson_in::{self, Body, Lines, Next};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    inventory::limits::configure(1 << 20, inventory::limits::DEFAULT_MAX_CERTS, 200_000);
    let _ = ndjson_in::looks_like(data);
    let mut lines = Lines::new(Cursor::new(data), 64 * 1024);
    let mut buf = Vec::new();
    while let Ok(Some(next)) = lines.next_line(&mut buf) {
        let Next::Line(text) = next else { continue };
        match ndjson_in::parse(&text) {
            // Text from the line may hold any character: it is escaped where it is printed.
            Err((_, reason)) => assert!(!reason.trim().is_empty(), "an empty reason"),
            Ok(entry) => match entry.body {
                Body::Der(der) => {
                    let walked = spki_of_cert(&der);
                    if let (Some(walked), Ok(facts)) = (walked, cert::parse_der(&der)) {
                        assert_eq!(walked, facts.spki, "the header walk found another key");
                    }
                }
                Body::Pem(pem) => {
                    let _ = inventory::read_input_with(
                        Cursor::new(pem.as_bytes()),
                        &ReadOptions::default(),
                    );
                }
            },
        }
    }
});
