//! One JSON document per command, on stdout.

use std::io::Write;

use serde::Serialize;

use crate::error::{Error, Result};

pub fn write<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(std::io::Error::from)
        .and_then(|_| writeln!(out))
        .map_err(|e| Error::Output(e))
}
