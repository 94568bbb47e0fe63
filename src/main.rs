//! The `rootpath` binary: parse the command line, run, print errors once.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match rootpath::cli::diff::parse_if_diff() {
        Some(diff) => rootpath::cli::diff::run(&diff, &mut out),
        None => rootpath::cli::run(&rootpath::cli::parse(), &mut out),
    };
    let flushed = out.flush();
    let flushed = flushed.map_err(rootpath::Error::Output);
    match result.and(flushed) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            // Every message already carries its cause; print it once.
            eprintln!("rootpath: {e}");
            ExitCode::FAILURE
        }
    }
}
