//! Diagnostics on stderr, the same for every command: one line per input error or warning,
//! escaped (file names and reasons may hold anything), never mixed with the data on stdout.

use std::io::{self, Write};

use crate::inventory::InputError;

/// Every input error, once, on stderr (escaped: file names and reasons may hold anything).
pub fn report_errors(errors: &[InputError]) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for e in errors {
        let _ = writeln!(
            err,
            "certsweep: error: {}",
            crate::sanitize::escape(&e.to_string())
        );
    }
}

/// Every input warning, once, on stderr (escaped).
pub fn report_warnings(warnings: &[InputError]) {
    let stderr = io::stderr();
    let mut err = stderr.lock();
    for w in warnings {
        let _ = writeln!(
            err,
            "certsweep: warning: {}",
            crate::sanitize::escape(&w.to_string())
        );
    }
}
