//! Any bytes as the .gopclntab of the go1.25 fixture's executable
//! (ROOTPATH_FUZZ_EXE overrides): runtime.firstmoduledata still points into
//! it, so the function table reads its header, ftab, names, files and
//! pc-value tables from the input. Never a panic, an abort or a hang.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rootpath::input::dwarf::{DwarfIndex, DwarfSections};
use rootpath::input::elf::Executable;

// Only the pclntab half of the shared readers is used here.
#[allow(dead_code)]
#[path = "../exe_readers.rs"]
mod exe_readers;

struct Base {
    exe: Executable,
    index: DwarfIndex,
    pclntab: u64,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let path = match std::env::var_os("ROOTPATH_FUZZ_EXE") {
            Some(p) => PathBuf::from(p),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/fixture-cache/go1.25/scenarios"),
        };
        let exe = Executable::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run the tests once)", path.display()));
        let sections = DwarfSections::load(&exe).expect("DWARF");
        let index = DwarfIndex::build(&exe, &sections.dwarf()).expect("index");
        let pclntab = exe.section(".gopclntab").expect(".gopclntab").addr;
        drop(sections);
        Base {
            exe,
            index,
            pclntab,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let b = base();
    let space = exe_readers::exe_space(&b.exe, Some((b.pclntab, data)));
    exe_readers::query_pclntab(&space, &b.index);
});
