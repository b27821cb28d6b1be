//! One integration-test binary: every test drives the real `certsweep` binary.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod harness;

mod acme;
mod api;
mod apps;
mod bad_input;
mod cli;
mod crl;
mod csr;
mod demo;
mod formats;
mod hardening;
mod inputs;
mod inspect;
mod output;
mod policy;
mod probe;
mod probe_reach;
mod rotate;
mod scale;
mod schema;
mod schema_more;
mod stream;
mod tls;
mod verdicts;
