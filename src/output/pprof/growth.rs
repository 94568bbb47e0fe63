//! The growth profile of `diff -o`: what grew between the oldest and newest dump as
//! ownership chains, signed (new objects positive, freed ones negative; formats/pprof-output.md).

use std::io::Write;

use super::ProfileBuilder;
use super::retention::add_samples;
use crate::analysis::chains::Chains;

/// Sample types: signed, as in pprof's `-diff_base` profiles.
pub const OBJECTS: (&str, &str) = ("growth_objects", "count");
pub const BYTES: (&str, &str) = ("growth_space", "bytes");

/// Writes `added` (counted positive) and `removed` (negative) as one
/// gzipped profile; pprof folds identical stacks, so a chain's samples
/// net to its growth. `how` says in a comment what the two are.
pub fn write(out: impl Write, added: &Chains, removed: &Chains, how: &str) -> std::io::Result<()> {
    let mut b = ProfileBuilder::new(&[OBJECTS, BYTES], BYTES.0);
    b.comment(&format!("rootpath growth profile: {how}"));
    add_samples(&mut b, added, 1);
    add_samples(&mut b, removed, -1);
    b.write_gzip(out)
}

/// (objects, bytes) of `chains`' samples.
pub fn totals(chains: &Chains) -> (u64, u64) {
    chains
        .samples
        .iter()
        .fold((0, 0), |(o, b), s| (o + s.objects, b + s.bytes))
}
