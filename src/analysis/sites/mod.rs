//! Allocation sites: the dump's sampled objects grouped by where they were
//! allocated, joined with a pprof heap profile when there is one, with the
//! memory they retain and the roots that keep them.
//!
//! A site's stack is the bucket's stack as pprof shows it: leading runtime
//! frames dropped. Profile samples and dump buckets are joined on
//! (source positions of the visible stack, object size), the key pprof's
//! samples are built on; several buckets may share one key on either side, so
//! both are summed per key.

mod check;
mod frames;
mod holders;
mod index;
mod join;
mod sampling;

use serde::Serialize;

use super::why::MergedRoot;

pub(crate) use frames::{first_visible, visible};
pub use holders::SiteReporter;
pub use index::SiteIndex;

/// How objects are grouped into sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteGrouping {
    /// By the allocating source line (the innermost visible frame).
    Line,
    /// By the whole visible stack.
    Stack,
}

/// Order of the site list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteOrder {
    /// Bytes of live sampled objects.
    Live,
    /// Bytes those objects retain.
    Retained,
    /// In-use bytes as the profile (or the dump's own records) count them.
    Inuse,
}

#[derive(Debug, Clone)]
pub struct SiteOptions {
    pub grouping: SiteGrouping,
    pub order: SiteOrder,
    /// Retaining roots listed per site.
    pub retainers: usize,
    pub raw: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            grouping: SiteGrouping::Line,
            order: SiteOrder::Live,
            retainers: 3,
            raw: false,
        }
    }
}

/// In-use figures of one site.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Inuse {
    pub inuse_objects: i64,
    pub inuse_bytes: i64,
}

#[derive(Debug, Serialize)]
pub struct SiteDoc {
    /// The allocating function (innermost visible frame).
    pub site: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Visible frames, innermost first: "pkg.func (file.go:12)". For sites
    /// grouped by line, the stack with the most live bytes.
    pub stack: Vec<String>,
    /// Distinct stacks merged into this site.
    pub stacks: usize,
    /// Object sizes (size classes) allocated here.
    pub sizes: Vec<u64>,
    /// The pprof profile's in-use figures (its estimates when sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<Inuse>,
    /// The same figures from the profiling records inside the dump.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Inuse>,
    /// Sampled objects found in the dump and reachable from a root.
    pub live_objects: u64,
    pub live_bytes: u64,
    /// Sampled objects still allocated but unreachable (garbage).
    pub unreachable_objects: u64,
    /// The live figures extrapolated to unsampled objects (absent when every
    /// allocation is sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated: Option<Estimate>,
    /// What the live sampled objects keep alive that nothing else holds
    /// (themselves included).
    pub retained_bytes: u64,
    pub retained_objects: u64,
    pub retainers: Vec<MergedRoot>,
    /// Retaining roots not listed.
    pub more_retainers: usize,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Estimate {
    pub live_objects: u64,
    pub live_bytes: u64,
}

/// How the figures were obtained, and how far to trust them.
#[derive(Debug, Clone, Serialize)]
pub struct SamplingDoc {
    /// Sampling period in bytes (MemProfileRate), when known.
    pub rate: Option<u64>,
    /// "exact" (every allocation sampled), "sampled", "off" (MemProfileRate=0)
    /// or "unknown".
    pub coverage: &'static str,
    pub note: String,
}

/// How well the profile fits the dump.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileCheck {
    pub source: String,
    /// Whether the profile's figures are pprof's estimates (profile.proto)
    /// rather than raw sample counts (legacy text).
    pub scaled: bool,
    /// Profile samples (with in-use objects) that found buckets in the dump.
    pub matched_samples: usize,
    /// Profile samples with in-use objects that no dump bucket has.
    pub unmatched_samples: usize,
    pub unmatched_inuse_bytes: i64,
    /// Matched keys whose in-use counts differ between profile and dump.
    pub disagreeing_sites: usize,
    /// Whether the profile's code addresses are the dump's (None: not checkable).
    pub same_code_addresses: Option<bool>,
    /// Whether it describes the dump's last GC cycle (None: not checkable).
    pub same_gc_cycle: Option<bool>,
    /// "consistent" or "mismatch".
    pub verdict: &'static str,
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SitesDoc {
    pub sampling: SamplingDoc,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_check: Option<ProfileCheck>,
    pub notes: Vec<String>,
    pub sites: Vec<SiteDoc>,
    /// Sites not listed (after the limit).
    pub more_sites: usize,
}

/// `why site:...` : the merged shortest paths of one site's objects.
#[derive(Debug, Serialize)]
pub struct SiteWhyDoc {
    pub site: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub objects: u64,
    pub bytes: u64,
    pub unreachable_objects: u64,
    /// `objects` and `bytes` extrapolated with pprof's weights (absent when
    /// every allocation is sampled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated: Option<Estimate>,
    pub roots: Vec<MergedRoot>,
}
