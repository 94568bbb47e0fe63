//! Any bytes as a heap profile: the reader accepts them (proto or legacy
//! text, compressed or not) or says what is wrong; what it accepts converts
//! for joining, and the join with an empty model runs. Nothing panics.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rootpath::analysis::sites::{SiteGrouping, SiteIndex};
use rootpath::input::pprof::{alloc_profile, parse_heap_profile};
use rootpath::model::{Edges, HeapModel, ObjectsBuilder, Roots};

fuzz_target!(|data: &[u8]| {
    let Ok(profile) = parse_heap_profile(Path::new("fuzz.pprof"), data) else {
        return;
    };
    for s in &profile.samples {
        // Every frame names the location it came from.
        assert!(s.frames.iter().all(|f| f.address == 0 || s.location_addresses.contains(&f.address) || !s.raw_pcs.is_empty()));
    }
    let joined = alloc_profile(&profile, None);
    assert_eq!(joined.samples.len(), profile.samples.len());
    let model = HeapModel::new(ObjectsBuilder::default().finish(), Edges::default(), Roots::default(), Vec::new());
    let _ = SiteIndex::build(&model, Some(&joined), SiteGrouping::Line);
    let _ = SiteIndex::build(&model, Some(&joined), SiteGrouping::Stack);
});
