// Dev probe: print a few runtime layouts from an executable's DWARF.
fn main() {
    let path = std::env::args().nth(1).expect("exe path");
    let exe = rootpath::input::elf::Executable::open(std::path::Path::new(&path)).expect("exe");
    let sections = rootpath::input::dwarf::DwarfSections::load(&exe).expect("dwarf");
    let dwarf = sections.dwarf();
    let t = std::time::Instant::now();
    let index = rootpath::input::dwarf::DwarfIndex::build(&exe, &dwarf).expect("index");
    eprintln!(
        "index: {} types, {} globals, {} functions in {:?}",
        index.types.len(),
        index.globals.len(),
        index.functions.len(),
        t.elapsed()
    );
    for name in [
        "runtime.mspan",
        "runtime.mheap",
        "runtime.special",
        "runtime.g",
        "runtime._type",
        "internal/abi.Type",
        "runtime.moduledata",
    ] {
        if let Some(id) = index.type_named(name) {
            let ty = index.ty(index.underlying(id));
            println!("{name}: size {:?}, {} fields", ty.size, ty.fields.len());
            for f in ty.fields.iter().take(40) {
                println!(
                    "   {:>5} {} : {}",
                    f.offset,
                    f.name,
                    f.ty.map(|t| index.ty(t).name.clone()).unwrap_or_default()
                );
            }
        } else {
            println!("{name}: absent");
        }
    }
    for c in [
        "runtime._PageSize",
        "runtime.mSpanInUse",
        "runtime._KindSpecialProfile",
        "runtime.minSizeForMallocHeader",
        "runtime.heapArenaBytes",
        "runtime._NumSizeClasses",
    ] {
        println!("{c} = {:?}", index.constant(c));
    }
    for g in [
        "runtime.mheap_",
        "runtime.allgs",
        "runtime.firstmoduledata",
        "main.g",
    ] {
        println!(
            "{g} = {:?}",
            index.global(g).map(|g| (
                format!("{:#x}", g.addr),
                g.ty.map(|t| index.ty(t).name.clone())
            ))
        );
    }
}
