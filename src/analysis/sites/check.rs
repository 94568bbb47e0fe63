//! The profile check: whether a pprof heap profile describes the dump's
//! process and GC cycle, from counts, code addresses and GC stamps.

use std::collections::HashMap;

use super::frames::Positions;
use super::join::KeyFigures;
use super::{Inuse, ProfileCheck};
use crate::model::AllocProfile;

/// How the profile's figures compare with the dump's own records, gathered
/// key by key.
#[derive(Default)]
pub(super) struct Agreement {
    /// Keys whose in-use figures differ, and (difference in bytes, text).
    disagreeing: usize,
    examples: Vec<(u64, String)>,
    /// Candidate offsets between the profile's and the dump's code
    /// addresses, each counted once per sample; and the samples compared.
    address_deltas: HashMap<i128, usize>,
    checked_samples: usize,
}

impl Agreement {
    pub(super) fn compare(
        &mut self,
        profile: &AllocProfile,
        sites: &crate::model::Sites,
        pos: &Positions,
        figures: &KeyFigures,
        recorded: Option<Inuse>,
        from_profile: Option<Inuse>,
    ) {
        if let (Some(r), Some(p)) = (recorded, from_profile)
            && (r.inuse_objects != p.inuse_objects || r.inuse_bytes != p.inuse_bytes)
        {
            self.disagreeing += 1;
            let leaf = pos.first().map_or("?".to_string(), |(f, l)| {
                format!("{}:{l}", crate::model::short_file(f))
            });
            self.examples.push((
                p.inuse_bytes.abs_diff(r.inuse_bytes),
                format!(
                    "{leaf}: {} objects in the profile, {} in the dump",
                    p.inuse_objects, r.inuse_objects
                ),
            ));
        }
        // Code addresses: a profile of this very build and load address
        // has the bucket's return pcs minus one. Keys shared by several
        // buckets (two calls on one line) give each sample several
        // candidate offsets; count each offset once per sample.
        for &s in &figures.samples {
            let sample = &profile.samples[s];
            let Some(&addr) = sample.frame_addresses.first().filter(|&&a| a != 0) else {
                continue;
            };
            // pprof may have cut the stack elsewhere than rootpath:
            // any of the buckets' pcs may be the leaf's.
            let mut candidates: Vec<i128> = figures
                .buckets
                .iter()
                .flat_map(|&bi| sites.buckets[bi as usize].pcs.iter())
                .map(|&pc| i128::from(addr) + 1 - i128::from(pc))
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            if !candidates.is_empty() {
                self.checked_samples += 1;
            }
            for d in candidates {
                *self.address_deltas.entry(d).or_default() += 1;
            }
        }
    }

    pub(super) fn check(
        mut self,
        p: &AllocProfile,
        dump_rate: Option<u64>,
        dump_gc: Option<crate::model::GcStamp>,
        matched: usize,
        unmatched: (usize, i64),
    ) -> ProfileCheck {
        let mut problems = Vec::new();
        if let Some(rate) = dump_rate
            && p.period > 0
            && p.period != rate
        {
            problems.push(format!(
                "the profile samples one allocation per {} bytes, the dump's MemProfileRate is \
                 {rate}: it comes from another process (the dump's own figures use its rate)",
                p.period
            ));
        }
        let same_code_addresses = if self.checked_samples == 0 {
            None
        } else {
            // Nearly all: a sample whose bucket pairing is ambiguous
            // (equal stacks) may miss; another build misses at most sites.
            let total = self.checked_samples;
            let nearly_all = |n: usize| n * 100 >= total * 95;
            let zero = self.address_deltas.get(&0).copied().unwrap_or(0);
            if nearly_all(zero) {
                Some(true)
            } else {
                let (delta, n) = self
                    .address_deltas
                    .iter()
                    .max_by_key(|&(d, n)| (*n, std::cmp::Reverse(d.unsigned_abs())))
                    .map_or((0, 0), |(&d, &n)| (d, n));
                if nearly_all(n) {
                    let sign = if delta < 0 { "-" } else { "" };
                    problems.push(format!(
                        "the profile's code addresses are shifted by {sign}{:#x} from the \
                         dump's: it comes from another process (a position-independent \
                         build loaded elsewhere)",
                        delta.unsigned_abs()
                    ));
                } else {
                    problems.push(format!(
                        "the profile's code addresses differ from the dump's at {} of {} \
                         allocation sites: it comes from a different build of the program",
                        total - zero,
                        total
                    ));
                }
                Some(false)
            }
        };
        let same_gc_cycle = match (p.last_gc, dump_gc, p.time_nanos) {
            (Some(a), Some(b), _) => {
                if a != b {
                    problems.push(format!(
                        "the profile describes GC cycle {} (ended at {} ns), the dump GC \
                         cycle {} (ended at {} ns): another process, or another moment of \
                         this one",
                        a.num_gc, a.unix_nanos, b.num_gc, b.unix_nanos
                    ));
                }
                Some(a == b)
            }
            (None, Some(b), Some(t)) if t < b.unix_nanos => {
                problems.push(
                    "the profile was written before the dump's last GC: it describes an \
                     earlier heap (another process, or earlier in this one)"
                        .into(),
                );
                Some(false)
            }
            _ => None,
        };
        if self.disagreeing > 0 {
            problems.push(format!(
                "in-use counts differ at {} allocation sites ({}): the profile \
                 was not taken from this process at this GC cycle",
                self.disagreeing,
                {
                    // The largest differences say the most.
                    self.examples
                        .sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                    self.examples
                        .iter()
                        .take(3)
                        .map(|e| e.1.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                }
            ));
        }
        if unmatched.0 > 0 {
            problems.push(format!(
                "{} profile samples ({} in-use bytes) have no profiling record in the dump",
                unmatched.0, unmatched.1
            ));
        }
        ProfileCheck {
            source: p.source.clone(),
            scaled: p.scaled,
            matched_samples: matched,
            unmatched_samples: unmatched.0,
            unmatched_inuse_bytes: unmatched.1,
            disagreeing_sites: self.disagreeing,
            same_code_addresses,
            same_gc_cycle,
            verdict: if problems.is_empty() {
                "consistent"
            } else {
                "mismatch"
            },
            problems,
        }
    }
}
