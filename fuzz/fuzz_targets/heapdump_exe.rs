//! Bytes → parse → the loader with the executable of a fixture (default:
//! testdata's go1.22 build, decompressed by the tests into
//! target/fixture-cache/go1.22/scenarios; ROOTPATH_FUZZ_EXE overrides).
//! Inputs derived from that fixture's dump get past the build check and
//! exercise naming, stack roots, goroutines and typing on corrupt memory.
#![no_main]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use rootpath::input::Source;
use rootpath::input::elf::Executable;
use rootpath::input::heapdump::HeapDumpFile;
use rootpath::input::heapdump_loader::{ExeInfo, load_with};

fn exe_path() -> PathBuf {
    match std::env::var_os("ROOTPATH_FUZZ_EXE") {
        Some(p) => PathBuf::from(p),
        None => {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fixture-cache/go1.22/scenarios")
        }
    }
}

thread_local! {
    static INFO: RefCell<ExeInfo<'static>> = {
        let path = exe_path();
        let exe = Executable::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run the tests once, or set ROOTPATH_FUZZ_EXE)", path.display()));
        let exe: &'static Executable = Box::leak(Box::new(exe));
        RefCell::new(ExeInfo::new(exe).expect("executable with DWARF"))
    };
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes(Path::new("fuzz.dump"), data) else {
        return;
    };
    let Ok(dump) = HeapDumpFile::parse(source) else {
        return;
    };
    INFO.with(|info| {
        let _ = load_with(&dump, &mut info.borrow_mut());
    });
});
