//! A counter on stderr for long runs at a terminal, rewritten in place: "certsweep: probed
//! 120/400 targets, 3 failed". Silent when stderr is not a terminal, with `-q`, and for runs
//! too short to need one.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::Context;

/// Runs of fewer items show no counter.
const MIN_ITEMS: usize = 20;

pub struct Progress {
    /// Text before the count ("probed ") and after it (" targets").
    before: &'static str,
    after: &'static str,
    /// Whether the line says how many failed.
    failures: bool,
    total: usize,
    show: bool,
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl Progress {
    pub fn new(
        ctx: &Context,
        total: usize,
        (before, after): (&'static str, &'static str),
        failures: bool,
    ) -> Self {
        Progress {
            before,
            after,
            failures,
            total,
            show: !ctx.quiet && total >= MIN_ITEMS && std::io::stderr().is_terminal(),
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    /// One item finished; the line is rewritten about a hundred times in a run at most.
    pub fn one_done(&self, failed: bool) {
        if !self.show {
            return;
        }
        let failed = self
            .failed
            .fetch_add(usize::from(failed), Ordering::Relaxed)
            + usize::from(failed);
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if !(n.is_multiple_of(self.total.div_ceil(100)) || n == self.total) {
            return;
        }
        let (before, after, total) = (self.before, self.after, self.total);
        let failed = if self.failures {
            format!(", {failed} failed")
        } else {
            String::new()
        };
        let end = if n == total { "\n" } else { "" };
        eprint!("\rcertsweep: {before}{n}/{total}{after}{failed}{end}");
    }
}
