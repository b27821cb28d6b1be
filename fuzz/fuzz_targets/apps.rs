//! App-installation pages (files or API JSON) as `apps` reads and classifies them.
#![no_main]

use certsweep::apps::{self, Page};
use libfuzzer_sys::fuzz_target;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let body = serde_json::from_slice(data).map_err(|e| e.to_string());
    let pages = [Page {
        label: "page".into(),
        body,
    }];
    let _ = apps::audit_pages(
        &pages,
        datetime!(2016-11-01 0:00 UTC),
        datetime!(2026-11-24 0:00 UTC),
    );
});
