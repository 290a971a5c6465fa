//! Entry point of the re-executed runtime helper (container set-up, shims, sandbox init).

/// When this process was re-executed as a runtime helper, run it and return its exit code.
/// Must be called first thing in `main`, before any thread is started.
pub fn dispatch_from_args() -> Option<i32> {
    None
}
