// Dev probe: DWARF variables of a function (by name) at every pc of a sample.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("exe path");
    let func = args.next().expect("function");
    let exe = rootpath::input::elf::Executable::open(std::path::Path::new(&path)).expect("exe");
    let sections = rootpath::input::dwarf::DwarfSections::load(&exe).expect("dwarf");
    let dwarf = sections.dwarf();
    let index = rootpath::input::dwarf::DwarfIndex::build(&exe, &dwarf).expect("index");
    let f = index
        .functions
        .iter()
        .find(|f| f.name == func)
        .expect("function")
        .clone();
    for pc in (f.low_pc..f.high_pc).step_by(((f.high_pc - f.low_pc) / 8).max(1) as usize) {
        let vars = index.frame_variables(&dwarf, &f, pc);
        println!(
            "pc {pc:#x}: {:?}",
            vars.iter()
                .map(|v| format!(
                    "{}@{}+{} size {} ty {:?}",
                    v.name,
                    v.cfa_offset,
                    v.piece_offset,
                    v.size,
                    v.ty.map(|t| index.ty(t).name.clone())
                ))
                .collect::<Vec<_>>()
        );
    }
    println!(
        "closure vars: {:?}",
        index
            .closure_variables(&dwarf, &f)
            .iter()
            .map(|(n, o, t)| format!("{n}@{o}:{}", index.ty(*t).name))
            .collect::<Vec<_>>()
    );
}
