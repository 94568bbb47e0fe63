//! The go1.25 fixture's executable (ROOTPATH_FUZZ_EXE overrides) with bytes
//! of its decompressed .debug_info/.debug_abbrev/.debug_line/.debug_loclists
//! and of its .gopclntab changed as the input says (exe_readers.rs), through
//! the DWARF index, frame variables, type layouts and the function table:
//! refused or answered, never a panic, an abort or a hang.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rootpath::input::Source;
use rootpath::input::dwarf::DwarfSections;
use rootpath::input::elf::Executable;

#[path = "../exe_readers.rs"]
mod exe_readers;
use exe_readers::ExeBase;

fn base() -> &'static ExeBase {
    static BASE: OnceLock<ExeBase> = OnceLock::new();
    BASE.get_or_init(|| {
        let path = match std::env::var_os("ROOTPATH_FUZZ_EXE") {
            Some(p) => PathBuf::from(p),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/fixture-cache/go1.25/scenarios"),
        };
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run the tests once)", path.display()));
        ExeBase::of(bytes).expect("an executable with DWARF and .gopclntab")
    })
}

fuzz_target!(|data: &[u8]| {
    let (file, dwarf, _) = base().mutate(data);
    let Ok(source) = Source::from_bytes(Path::new("fuzz.exe"), &file) else {
        return;
    };
    let Ok(exe) = Executable::parse(source) else {
        return;
    };
    exe_readers::run_readers(&exe, &DwarfSections::from_parts(dwarf));
});
