//! Each input the `exe` and `pclntab` fuzz targets found a problem with
//! (fuzz/README.md), replayed on the go1.25 fixture's executable: the DWARF
//! and pclntab readers answer or refuse, never panic (a panic fails the test).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::Fixture;
use rootpath::input::Source;
use rootpath::input::dwarf::{DwarfIndex, DwarfSections};
use rootpath::input::elf::Executable;

#[path = "../fuzz/exe_readers.rs"]
mod exe_readers;

fn inputs(kind: &str) -> Vec<PathBuf> {
    let dir = common::repo_root().join("fuzz/regressions").join(kind);
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    inputs.sort();
    inputs
}

#[test]
fn exe_fuzz_regressions_never_panic() {
    let f = Fixture::load("go1.25");
    let base = exe_readers::ExeBase::of(fs::read(f.exe()).expect("exe")).expect("base");
    // The harness reaches the readers: the unchanged executable's table
    // names every sampled function.
    let exe = Executable::open(&f.exe()).expect("exe");
    let sections = DwarfSections::from_parts(base.dwarf.clone());
    assert!(exe_readers::run_readers(&exe, &sections) > 200);
    for input in inputs("exe") {
        let (file, dwarf, applied) = base.mutate(&fs::read(&input).expect("input"));
        assert!(applied > 0, "{}: changes nothing", input.display());
        let Ok(source) = Source::from_bytes(Path::new("fuzz.exe"), &file) else {
            continue;
        };
        if let Ok(exe) = Executable::parse(source) {
            exe_readers::run_readers(&exe, &DwarfSections::from_parts(dwarf));
        }
    }
}

#[test]
fn pclntab_fuzz_regressions_never_panic() {
    let f = Fixture::load("go1.25");
    let exe = Executable::open(&f.exe()).expect("exe");
    let sections = DwarfSections::load(&exe).expect("DWARF");
    let index = DwarfIndex::build(&exe, &sections.dwarf()).expect("index");
    let addr = exe.section(".gopclntab").expect(".gopclntab").addr;
    let real = exe.section_data(".gopclntab").expect("bytes");
    let space = exe_readers::exe_space(&exe, Some((addr, real)));
    assert!(exe_readers::query_pclntab(&space, &index) > 200);
    for input in inputs("pclntab") {
        let bytes = fs::read(&input).expect("input");
        let space = exe_readers::exe_space(&exe, Some((addr, &bytes)));
        exe_readers::query_pclntab(&space, &index);
    }
}
