//! `rootpath DUMP overview`.

use std::io::Write;

use crate::dump::Dump;
use crate::error::Result;
use crate::output;
use crate::overview::overview;

pub fn run(dump: &Dump, json: bool, out: &mut dyn Write) -> Result<()> {
    let report = overview(dump);
    if json {
        output::json::write(out, &report)
    } else {
        output::text::overview(out, &report)
    }
}
