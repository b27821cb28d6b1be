//! The certsweep binary: hands off to the library and turns the outcome into an exit code.

fn main() {
    std::process::exit(certsweep::run(std::env::args_os()));
}
