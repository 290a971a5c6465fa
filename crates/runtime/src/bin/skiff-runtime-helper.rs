//! Stand-alone runtime helper for tests and benchmarks: only re-executed helper verbs.

fn main() {
    match skiff_runtime::helper::dispatch_from_args() {
        Some(code) => std::process::exit(code),
        None => {
            eprintln!("usage: skiff-runtime-helper __runtime <verb> <arg>");
            std::process::exit(2);
        }
    }
}
