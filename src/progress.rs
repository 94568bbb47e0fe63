//! Progress on an interactive stderr while a dump is decompressed and loaded. The CLI
//! turns it on once; readers and loaders only say which step they are in and how many
//! bytes of it are done. Off (the library, tests, `--quiet`, a pipe), every call is a no-op.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

static BAR: OnceLock<ProgressBar> = OnceLock::new();
/// Set once the answer starts: nothing may draw over it.
static FINISHED: AtomicBool = AtomicBool::new(false);

fn bar() -> Option<&'static ProgressBar> {
    BAR.get().filter(|_| !FINISHED.load(Ordering::Relaxed))
}

/// Shows progress from now on (the CLI calls this when stderr is a terminal).
pub fn enable() {
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(120));
    let _ = BAR.set(bar);
}

/// The step now under way, shown with a spinner.
pub fn step(message: &str) {
    if let Some(bar) = bar() {
        bar.set_style(ProgressStyle::default_spinner());
        bar.set_length(0);
        bar.set_message(message.to_string());
    }
}

/// A step over `total` bytes, of which `done` are done: shown as a bar with bytes.
pub fn bytes(message: &str, done: u64, total: u64) {
    if let Some(bar) = bar() {
        if bar.message() != message {
            let style = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_message(message.to_string());
            bar.set_position(0);
            bar.set_length(total);
            bar.set_style(style);
        }
        bar.set_position(done);
    }
}

/// Clears the line for good, before the answer is printed.
pub fn finish() {
    if let Some(bar) = bar() {
        FINISHED.store(true, Ordering::Relaxed);
        bar.finish_and_clear();
    }
}
