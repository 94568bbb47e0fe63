//! The `rootpath` binary: parse the command line, run, print errors once.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = rootpath::cli::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = rootpath::cli::run(&cli, &mut out);
    let flushed = out.flush();
    match result {
        Ok(()) if flushed.is_ok() => ExitCode::SUCCESS,
        Ok(()) => ExitCode::FAILURE,
        Err(e) => {
            // Every message already carries its cause; print it once.
            eprintln!("rootpath: {e}");
            ExitCode::FAILURE
        }
    }
}
