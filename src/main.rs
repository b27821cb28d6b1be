//! The certsweep binary: hands off to the library and turns the outcome into an exit code.

/// mimalloc: a scan makes millions of small allocations on two or more threads (certificate
/// facts, names, output records); glibc's malloc spent ~12 % of a 100,000-certificate scan.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(certsweep::run(std::env::args_os()));
}
