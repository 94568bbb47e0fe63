//! Allocation sites in text: the sampling and profile-check header, each
//! site's figures and holders, and `why site:`.

use std::io::{self, Write};

use super::why::write_merged_roots;
use super::{bytes, io_err};
use crate::analysis::sites::{Inuse, SiteDoc, SiteWhyDoc, SitesDoc};
use crate::error::Result;

fn site_title(site: &str, file: Option<&str>, line: Option<u32>) -> String {
    match (file, line) {
        (Some(f), Some(l)) => format!("{site} ({}:{l})", crate::model::short_file(f)),
        _ => site.to_string(),
    }
}

fn inuse_line(what: &str, f: Option<Inuse>) -> Option<String> {
    let f = f?;
    Some(format!(
        "{what} {} objects, {} in use",
        f.inuse_objects,
        bytes(f.inuse_bytes.max(0) as u64)
    ))
}

/// Legacy text profiles of a sampled heap give sample counts, not estimates.
pub(super) fn raw_profile(doc: &SitesDoc) -> bool {
    doc.profile_check.as_ref().is_some_and(|c| !c.scaled)
        && doc.sampling.rate.is_some_and(|r| r > 1)
}

pub(super) fn write_sites_header(out: &mut dyn Write, doc: &SitesDoc) -> io::Result<()> {
    writeln!(out, "sampling: {}", doc.sampling.note)?;
    if let Some(c) = &doc.profile_check {
        if c.problems.is_empty() {
            writeln!(
                out,
                "profile {}: consistent with the dump ({} sampled stacks matched)",
                c.source, c.matched_samples
            )?;
        } else {
            writeln!(
                out,
                "WARNING: profile {} does not describe this dump's heap:",
                c.source
            )?;
            for p in &c.problems {
                writeln!(out, "  - {p}")?;
            }
            writeln!(
                out,
                "  live and retained figures below come from the dump; profile figures may not apply"
            )?;
        }
    }
    for n in &doc.notes {
        writeln!(out, "note: {n}")?;
    }
    Ok(())
}

pub(super) fn write_site(
    out: &mut dyn Write,
    i: usize,
    s: &SiteDoc,
    raw_profile: bool,
    full: bool,
) -> io::Result<()> {
    writeln!(
        out,
        "{:>2}. {}",
        i + 1,
        site_title(&s.site, s.file.as_deref(), s.line)
    )?;
    let mut figures: Vec<String> = Vec::new();
    let label = if raw_profile {
        "profile (sampled, unscaled):"
    } else {
        "profile:"
    };
    figures.extend(inuse_line(label, s.profile));
    if s.profile.is_none() {
        figures.extend(inuse_line("recorded:", s.recorded));
    }
    let mut live = format!(
        "live: {} sampled objects, {}",
        s.live_objects,
        bytes(s.live_bytes)
    );
    if let Some(e) = s.estimated {
        live.push_str(&format!(
            " (≈{} objects, {} estimated)",
            e.live_objects,
            bytes(e.live_bytes)
        ));
    }
    figures.push(live);
    if s.unreachable_objects > 0 {
        figures.push(format!("{} unreachable", s.unreachable_objects));
    }
    figures.push(format!("retains {}", bytes(s.retained_bytes)));
    writeln!(out, "    {}", figures.join(" · "))?;
    write_merged_roots(out, &s.retainers, 4, full)?;
    if s.more_retainers > 0 {
        writeln!(out, "    … and {} more roots", s.more_retainers)?;
    }
    if full && s.stack.len() > 1 {
        let more = if s.stacks > 1 {
            format!(" (heaviest of {} stacks)", s.stacks)
        } else {
            String::new()
        };
        writeln!(out, "    allocated at{more}:")?;
        for f in s.stack.iter().take(8) {
            writeln!(out, "      {f}")?;
        }
        if s.stack.len() > 8 {
            writeln!(out, "      … {} more frames", s.stack.len() - 8)?;
        }
    }
    Ok(())
}

pub fn sites(out: &mut dyn Write, doc: &SitesDoc) -> Result<()> {
    (|| -> io::Result<()> {
        write_sites_header(out, doc)?;
        if doc.sites.is_empty() {
            writeln!(out, "no allocation sites with in-use objects")?;
        }
        for (i, s) in doc.sites.iter().enumerate() {
            writeln!(out)?;
            write_site(out, i, s, raw_profile(doc), true)?;
        }
        if doc.more_sites > 0 {
            writeln!(
                out,
                "\n… and {} more sites (-n to show more)",
                doc.more_sites
            )?;
        }
        Ok(())
    })()
    .map_err(io_err)
}

pub fn why_site(out: &mut dyn Write, doc: &SiteWhyDoc) -> Result<()> {
    (|| -> io::Result<()> {
        let estimate = doc.estimated.map_or(String::new(), |e| {
            format!(
                " (≈{} objects, {} estimated)",
                e.live_objects,
                bytes(e.live_bytes)
            )
        });
        writeln!(
            out,
            "objects allocated at {}: {} sampled objects, {}{estimate}; {} unreachable (garbage)",
            site_title(&doc.site, doc.file.as_deref(), doc.line),
            doc.objects,
            bytes(doc.bytes),
            doc.unreachable_objects
        )?;
        write_merged_roots(out, &doc.roots, 0, true)
    })()
    .map_err(io_err)
}
