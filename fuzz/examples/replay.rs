//! Replays inputs through the parser and the loader (with an executable when
//! given) and counts how far each got: a quick look at what a corpus covers.
//!
//!     cargo run --release --example replay -- [--exe EXE] FILE_OR_DIR...

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rootpath::input::Source;
use rootpath::input::elf::Executable;
use rootpath::input::heapdump::HeapDumpFile;
use rootpath::input::heapdump_loader::{ExeInfo, load, load_with};

fn main() {
    let mut args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let exe = match args.iter().position(|a| a == Path::new("--exe")) {
        Some(i) if i + 1 < args.len() => {
            let p = args.remove(i + 1);
            args.remove(i);
            Some(Executable::open(&p).expect("executable"))
        }
        _ => None,
    };
    let mut info = exe.as_ref().map(|e| ExeInfo::new(e).expect("DWARF"));
    let mut files = Vec::new();
    for a in &args {
        match std::fs::read_dir(a) {
            Ok(dir) => files.extend(dir.flatten().map(|e| e.path())),
            Err(_) => files.push(a.clone()),
        }
    }
    let mut outcome: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let key = match HeapDumpFile::parse(Source::from_bytes(f, &bytes).expect("source")) {
            Err(_) => "refused by the parser".to_string(),
            Ok(dump) => {
                let model = match info.as_mut() {
                    Some(info) => load_with(&dump, info),
                    None => load(&dump, None),
                };
                match model {
                    Ok(m) if m.object_types.iter().any(|&t| t != u32::MAX) => {
                        "loaded, objects typed".to_string()
                    }
                    Ok(m)
                        if m.roots
                            .iter()
                            .any(|r| r.frame.as_ref().is_some_and(|f| f.variable.is_some())) =>
                    {
                        "loaded, stack variables named".to_string()
                    }
                    Ok(_) => "loaded".to_string(),
                    Err(e) => {
                        let e = e.to_string();
                        let e = e.split(" (").next().unwrap_or(&e).to_string();
                        format!(
                            "refused by the loader: {}",
                            e.rsplit(": ").next().unwrap_or(&e)
                        )
                    }
                }
            }
        };
        *outcome.entry(key).or_default() += 1;
    }
    for (k, n) in outcome {
        println!("{n:>6}  {k}");
    }
}
