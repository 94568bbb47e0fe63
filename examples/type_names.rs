// Dev probe: list DWARF type names matching a substring, with kind and fields.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("exe path");
    let pat = args.next().unwrap_or_default();
    let exe = rootpath::input::elf::Executable::open(std::path::Path::new(&path)).expect("exe");
    let sections = rootpath::input::dwarf::DwarfSections::load(&exe).expect("dwarf");
    let dwarf = sections.dwarf();
    let index = rootpath::input::dwarf::DwarfIndex::build(&exe, &dwarf).expect("index");
    for t in index
        .types
        .iter()
        .filter(|t| t.name.contains(&pat))
        .take(40)
    {
        println!(
            "{} kind={:?} size={:?} go_kind={:?} target={:?} elem={:?} key={:?}",
            t.name,
            t.kind,
            t.size,
            t.go_kind,
            t.target.map(|x| index.ty(x).name.clone()),
            t.go_elem.map(|x| index.ty(x).name.clone()),
            t.go_key.map(|x| index.ty(x).name.clone())
        );
        for f in &t.fields {
            println!(
                "    {:>4} {} : {}",
                f.offset,
                f.name,
                f.ty.map(|x| index.ty(x).name.clone()).unwrap_or_default()
            );
        }
    }
}
