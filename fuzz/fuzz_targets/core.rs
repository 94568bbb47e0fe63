//! A real core (the go1.25 fixture, decompressed by the tests into
//! target/fixture-cache/; ROOTPATH_FUZZ_CORE and ROOTPATH_FUZZ_EXE
//! override) with words of its heap, span, goroutine and runtime memory
//! changed as the input says (see core_mutations.rs), through the load and
//! every analysis: refused or answered, never a panic or an abort.
#![no_main]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use rootpath::input::Source;
use rootpath::{Dump, OpenOptions};

#[path = "../core_mutations.rs"]
mod core_mutations;
use core_mutations::CoreLayout;

#[path = "../analyses.rs"]
mod analyses;

fn fixture(var: &str, name: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/fixture-cache/go1.25")
            .join(name),
    }
}

struct Base {
    core: Vec<u8>,
    layout: CoreLayout,
    options: OpenOptions,
}

thread_local! {
    static BASE: RefCell<Base> = {
        let core_path = fixture("ROOTPATH_FUZZ_CORE", "core");
        let core = std::fs::read(&core_path)
            .unwrap_or_else(|e| panic!("{}: {e} (run the tests once)", core_path.display()));
        let layout = CoreLayout::of(&core).expect("fixture core");
        let options = OpenOptions::with_exe(fixture("ROOTPATH_FUZZ_EXE", "scenarios"));
        RefCell::new(Base { core, layout, options })
    };
}

fuzz_target!(|data: &[u8]| {
    BASE.with(|base| {
        let base = &mut *base.borrow_mut();
        let undo = base.layout.apply(&mut base.core, data);
        let source = Source::from_bytes(Path::new("fuzz.core"), &base.core);
        for (at, old) in undo.into_iter().rev() {
            base.core[at..at + 8].copy_from_slice(&old);
        }
        let Ok(source) = source else { return };
        if let Ok(dump) = Dump::from_source(source, &base.options) {
            analyses::run_all(&dump);
        }
    });
});
