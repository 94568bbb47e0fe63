//! `sites`: allocation sites joined with the live objects and their retainers.

use std::io::Write;

use crate::analysis::report::Reporter;
use crate::analysis::retention::Retention;
use crate::analysis::sites::{SiteGrouping, SiteIndex, SiteOptions, SiteOrder, SiteReporter};
use crate::error::{Error, Result};
use crate::model::{AllocProfile, HeapModel, Memory};
use crate::output;

use super::{SiteGroup, SiteSort};

pub struct SitesArgs {
    pub n: usize,
    /// None: in-use bytes with a profile, live bytes without.
    pub by: Option<SiteSort>,
    pub group: SiteGroup,
    pub retainers: usize,
    pub raw: bool,
}

pub fn options(args: &SitesArgs, profile: Option<&AllocProfile>) -> SiteOptions {
    SiteOptions {
        grouping: match args.group {
            SiteGroup::Line => SiteGrouping::Line,
            SiteGroup::Stack => SiteGrouping::Stack,
        },
        order: match args.by {
            Some(SiteSort::Live) => SiteOrder::Live,
            Some(SiteSort::Retained) => SiteOrder::Retained,
            Some(SiteSort::Inuse) => SiteOrder::Inuse,
            None if profile.is_some() => SiteOrder::Inuse,
            None => SiteOrder::Live,
        },
        retainers: args.retainers,
        raw: args.raw,
    }
}

/// Refuses to answer from nothing: no profiling records and no profile.
pub fn require_sites(model: &HeapModel, profile: Option<&AllocProfile>) -> Result<()> {
    if model.sites.buckets.is_empty() && profile.is_none() {
        return Err(Error::NoSites);
    }
    Ok(())
}

pub fn run(
    model: &HeapModel,
    doms: Option<crate::analysis::dominators::Dominators>,
    memory: Option<&dyn Memory>,
    profile: Option<&AllocProfile>,
    args: &SitesArgs,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    require_sites(model, profile)?;
    let options = options(args, profile);
    let index = SiteIndex::build(model, profile, options.grouping);
    let retention = Retention::with_dominators(model, doms);
    let reporter = Reporter::new(&retention, memory);
    let doc = SiteReporter::new(&index, &reporter).sites(&options, args.n);
    if json {
        output::json::write(out, &doc)
    } else {
        output::text::sites(out, &doc)
    }
}

/// `why site:FUNC` or `why site:FILE:LINE`.
pub fn why(
    model: &HeapModel,
    memory: Option<&dyn Memory>,
    profile: Option<&AllocProfile>,
    spec: &str,
    raw: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    require_sites(model, profile)?;
    let index = SiteIndex::build(model, profile, SiteGrouping::Line);
    let selected = index.select(spec);
    if selected.is_empty() {
        return Err(Error::BadTarget {
            target: format!("site:{spec}"),
            why: "no allocation site has that function or file:line as its innermost frame \
                  (see 'sites' for the names)"
                .into(),
        });
    }
    let doc = index.explain(model, memory, &selected, raw);
    if json {
        output::json::write(out, &doc)
    } else {
        output::text::why_site(out, &doc)
    }
}
