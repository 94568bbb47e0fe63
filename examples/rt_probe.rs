// Dev probe: DWARF types carrying a runtime type address matching a name.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("exe path");
    let pat = args.next().unwrap_or_default();
    let exe = rootpath::input::elf::Executable::open(std::path::Path::new(&path)).expect("exe");
    let sections = rootpath::input::dwarf::DwarfSections::load(&exe).expect("dwarf");
    let dwarf = sections.dwarf();
    let index = rootpath::input::dwarf::DwarfIndex::build(&exe, &dwarf).expect("index");
    let with_rt = index
        .types
        .iter()
        .filter(|t| t.runtime_type.is_some())
        .count();
    println!(
        "{} of {} types have a runtime type",
        with_rt,
        index.types.len()
    );
    for (i, t) in index
        .types
        .iter()
        .enumerate()
        .filter(|(_, t)| t.name == pat)
    {
        println!(
            "#{i} {} kind={:?} rt={:?} size={:?} size_of={:?}",
            t.name,
            t.kind,
            t.runtime_type.map(|a| format!("{a:#x}")),
            t.size,
            index.size_of(rootpath::input::dwarf::TypeId(i as u32))
        );
    }
}
