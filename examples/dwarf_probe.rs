// Dev probe: print runtime struct layouts from an executable's DWARF.
// usage: dwarf_probe EXE TYPE...
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("exe path");
    let exe = rootpath::input::elf::Executable::open(std::path::Path::new(&path)).expect("exe");
    let sections = rootpath::input::dwarf::DwarfSections::load(&exe).expect("dwarf");
    let dwarf = sections.dwarf();
    let index = rootpath::input::dwarf::DwarfIndex::build(&exe, &dwarf).expect("index");
    for name in args {
        if let Some(v) = index.constant(&name) {
            println!("{name} = {v}");
        } else if let Some(id) = index.type_named(&name) {
            let ty = index.ty(index.underlying(id));
            println!("{name}: size {:?}", ty.size);
            for f in &ty.fields {
                let t = f.ty.map(|t| index.ty(t).name.clone()).unwrap_or_default();
                println!("   {:>5} {} : {}", f.offset, f.name, t);
            }
        } else {
            println!("{name}: absent");
        }
    }
}
