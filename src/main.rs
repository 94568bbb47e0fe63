//! The `rootpath` binary: parse the command line, run, print errors once.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = rootpath::cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = rootpath::cli::run(&cli, &mut out);
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
