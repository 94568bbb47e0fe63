//! Which roots a Go programmer would call an object's owner: the program's
//! package variables and goroutine variables rank ahead of runtime and
//! standard-library holders, compiler temporaries and unnamed slots.

use super::paths::RetentionPath;
use crate::model::{HeapModel, Root, RootKind, StackRootKind};
use rustc_hash::FxHashSet;

/// How paths are ordered: owners first (then shortest), or strictly shortest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Ranking {
    #[default]
    OwnerFirst,
    Shortest,
}

/// A root's standing as a holder, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HolderClass {
    /// A named variable of the program's code (a package variable, a
    /// goroutine's local or argument), or its deferred call or panic.
    Owner,
    /// Runtime and standard-library variables (caches and registries such as
    /// `sync.allPools`), finalizer and cleanup records.
    Library,
    /// Variables the compiler made (`~r0`, `.autotmp_3`).
    Temporary,
    /// Slots and memory nothing names (`data+0x1a0`, unnamed stack slots).
    Unnamed,
}

impl HolderClass {
    pub const ALL: [HolderClass; 4] = [
        HolderClass::Owner,
        HolderClass::Library,
        HolderClass::Temporary,
        HolderClass::Unnamed,
    ];
}

pub fn class_of(root: &Root) -> HolderClass {
    match root.kind {
        RootKind::Global => match package_of(&root.name) {
            Some(p) if !is_library(p) => HolderClass::Owner,
            Some(_) => HolderClass::Library,
            None => HolderClass::Unnamed,
        },
        RootKind::Stack => {
            let Some(frame) = &root.frame else {
                return HolderClass::Unnamed;
            };
            let library = package_of(&frame.function).is_none_or(is_library);
            let named = match frame.what {
                StackRootKind::Defer | StackRootKind::Panic => true,
                StackRootKind::Slot => match &frame.variable {
                    Some(v) if is_temporary(v) => return HolderClass::Temporary,
                    Some(_) => true,
                    None => false,
                },
            };
            match (named, library) {
                (false, _) => HolderClass::Unnamed,
                (true, true) => HolderClass::Library,
                (true, false) => HolderClass::Owner,
            }
        }
        RootKind::Finalizer | RootKind::Cleanup | RootKind::QueuedFinalizer => HolderClass::Library,
        RootKind::Other => HolderClass::Unnamed,
    }
}

/// What makes two roots one owner: a variable split over a live slot and a
/// stack object, or over several roots, is one explanation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnerKey<'r> {
    Global(&'r str),
    Variable {
        goroutine: u64,
        function: &'r str,
        variable: &'r str,
    },
    Root(usize),
}

pub fn owner_key(root: &Root, index: usize) -> OwnerKey<'_> {
    match (root.kind, &root.frame) {
        (RootKind::Global, _) if package_of(&root.name).is_some() => OwnerKey::Global(&root.name),
        (RootKind::Stack, Some(f)) => match &f.variable {
            Some(v) => OwnerKey::Variable {
                goroutine: f.goroutine,
                function: &f.function,
                variable: v,
            },
            None => OwnerKey::Root(index),
        },
        _ => OwnerKey::Root(index),
    }
}

/// Up to `max` of `found` (paths in the order a breadth-first search found
/// them), one per owner: owners' paths ahead of library holders', then
/// temporaries', then unnamed slots'; within a class the shortest first,
/// then as found.
pub fn rank(model: &HeapModel, found: Vec<RetentionPath>, max: usize) -> Vec<RetentionPath> {
    let mut ranked: Vec<(HolderClass, usize, RetentionPath)> = found
        .into_iter()
        .map(|p| (class_of(&model.roots.roots[p.root]), p.hops.len(), p))
        .collect();
    ranked.sort_by_key(|&(class, len, _)| (class, len));
    let mut owners = FxHashSet::default();
    ranked
        .into_iter()
        .filter(|(_, _, p)| owners.insert(owner_key(&model.roots.roots[p.root], p.root)))
        .take(max)
        .map(|(_, _, p)| p)
        .collect()
}

/// The package of a qualified Go name ("net/http.(*conn).serve" →
/// "net/http"); None for names that are not Go identifiers ("data+0x1a0").
fn package_of(name: &str) -> Option<&str> {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let dot = slash + name[slash..].find('.')?;
    let package = &name[..dot];
    let valid = !package.is_empty()
        && package
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '~'));
    valid.then_some(package)
}

/// The standard library and the runtime: import paths whose first element
/// has no dot (module paths of other code start with a domain), except main.
fn is_library(package: &str) -> bool {
    let first = package.split('/').next().unwrap_or(package);
    package != "main" && !first.contains('.')
}

/// Names the compiler gives to values no source variable names.
fn is_temporary(variable: &str) -> bool {
    variable.starts_with('~') || variable.contains("autotmp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FrameRef;

    fn global(name: &str) -> Root {
        Root::new(RootKind::Global, name.into(), Some(0x1000), Vec::new())
    }

    fn local(function: &str, variable: Option<&str>) -> Root {
        let mut r = Root::new(RootKind::Stack, String::new(), None, Vec::new());
        r.frame = Some(FrameRef {
            goroutine: 7,
            function: function.into(),
            variable: variable.map(str::to_string),
            ..FrameRef::default()
        });
        r
    }

    #[test]
    fn owners_are_the_programs_named_variables() {
        use HolderClass::*;
        assert_eq!(class_of(&global("main.registry")), Owner);
        assert_eq!(
            class_of(&global(
                "go.etcd.io/etcd/server/v3/etcdserver.defaultServer"
            )),
            Owner
        );
        assert_eq!(class_of(&global("sync.allPools")), Library);
        assert_eq!(class_of(&global("runtime.allm")), Library);
        assert_eq!(class_of(&global("encoding/json.encoderCache")), Library);
        assert_eq!(class_of(&global("bss+0x760")), Unnamed);
        assert_eq!(class_of(&global("data+0x17a0")), Unnamed);
        assert_eq!(
            class_of(&local("main.(*Worker).Run", Some("scratch"))),
            Owner
        );
        assert_eq!(
            class_of(&local("github.com/a/b.(*DB).run", Some("db"))),
            Owner
        );
        assert_eq!(class_of(&local("runtime.gopanic", Some("p"))), Library);
        assert_eq!(class_of(&local("main.work", Some("~r0"))), Temporary);
        assert_eq!(class_of(&local("main.work", Some(".autotmp_4"))), Temporary);
        assert_eq!(class_of(&local("main.main.gowrap1", None)), Unnamed);
        let mut fin = global("finalizer of 0xc000010000");
        fin.kind = RootKind::Finalizer;
        assert_eq!(class_of(&fin), Library);
        assert!(Owner < Library && Library < Temporary && Temporary < Unnamed);
    }

    #[test]
    fn a_variable_is_one_owner_however_many_roots_it_makes() {
        let slot = local("main.work", Some("p"));
        let object = local("main.work", Some("p"));
        assert_eq!(owner_key(&slot, 1), owner_key(&object, 2));
        let unnamed = local("main.work", None);
        assert_ne!(owner_key(&unnamed, 3), owner_key(&unnamed, 4));
        assert_eq!(
            owner_key(&global("main.g"), 5),
            owner_key(&global("main.g"), 6)
        );
        assert_ne!(
            owner_key(&global("data+0x10"), 5),
            owner_key(&global("data+0x10"), 6)
        );
    }
}
