//! Analyses over the heap model. They never ask which input the model came from.

pub mod chains;
pub mod diff;
pub mod dominators;
pub mod graph;
pub mod histogram;
pub mod holder_docs;
pub mod holders;
pub mod labels;
pub mod listing;
pub mod owners;
pub mod paths;
pub mod reach;
pub mod report;
pub mod retention;
pub mod root_holders;
pub mod sites;
pub mod summary;
pub mod why;

/// A fixed pseudo-random sequence for tests over random graphs: each call
/// gives a number below its argument (xorshift64).
#[cfg(test)]
fn test_random() -> impl FnMut(u64) -> u64 {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    }
}
