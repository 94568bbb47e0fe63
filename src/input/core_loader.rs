//! Core + executable → heap model: DWARF layouts, spans, objects.

use crate::dump::CoreDump;
use crate::error::{Error, Result};
use crate::input::dwarf::{DwarfIndex, DwarfSections};
use crate::input::goruntime::GoVersion;
use crate::input::goruntime::layout::Layouts;
use crate::input::goruntime::spans::read_spans;
use crate::model::{HeapModel, ObjectsBuilder};

pub fn load(dump: &CoreDump) -> Result<HeapModel> {
    let exe = dump.require_exe()?;
    let version = dump.go_version().ok_or_else(|| {
        Error::malformed(exe.path(), "no Go build information: is this a Go program?")
    })?;
    let sections = DwarfSections::load(exe)?;
    let dwarf = sections.dwarf();
    let index = DwarfIndex::build(exe, &dwarf)?;
    let layouts = Layouts::new(&index);
    let space = dump.address_space();
    load_objects(&space, &layouts, version)
}

fn load_objects(
    space: &crate::input::elf::AddressSpace<'_>,
    layouts: &Layouts<'_>,
    version: GoVersion,
) -> Result<HeapModel> {
    let spans = read_spans(space, layouts, version)?;
    let mut warnings = spans.warnings.clone();
    let mut builder = ObjectsBuilder::default();
    let unreadable = spans.for_each_allocated(space, |i, slot| {
        let s = &spans.spans[i];
        let header = if s.has_header { 8 } else { 0 };
        builder.push(slot + header, s.object_size());
    });
    if unreadable > 0 {
        warnings.push(format!(
            "allocation bits of {unreadable} spans are missing from the core: only their slots below freeindex are counted"
        ));
    }
    Ok(HeapModel {
        objects: builder.finish(),
        warnings,
    })
}
