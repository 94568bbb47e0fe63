//! GC roots: where the collector starts. Each root has a human name and the
//! objects it points at directly (with the byte offset inside the root).

use serde::Serialize;

use super::ObjectId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RootKind {
    /// A package-level variable (data or bss).
    Global,
    /// A live slot in a goroutine's stack frame.
    Stack,
    /// A finalizer's closure or the referents of a finalizable object.
    Finalizer,
    /// A runtime.AddCleanup closure or argument (Go ≥1.24).
    Cleanup,
    /// An object whose finalizer is queued to run.
    QueuedFinalizer,
    /// Anything else the runtime scans (defers, panics, runtime internals).
    Other,
}

#[derive(Debug, Clone)]
pub struct Root {
    pub kind: RootKind,
    /// "main.cache", "data+0x1a0", "goroutine 17 main.worker buf" …
    pub name: String,
    /// Address of the root's storage, when it has one (globals, stack slots),
    /// or of the object a finalizer or cleanup is attached to.
    pub addr: Option<u64>,
    /// Objects pointed to, with the offset of the pointer inside the root.
    pub targets: Vec<(ObjectId, u64)>,
    /// For roots on a goroutine's stack (slots, defers, panics).
    pub frame: Option<FrameRef>,
    /// The declared type of the root's storage (a global's or variable's type).
    pub type_name: Option<String>,
    /// That type in the model's type table, for naming the pointers inside the root.
    pub type_index: Option<u32>,
}

/// Where on which goroutine's stack a root lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameRef {
    pub goroutine: u64,
    pub function: String,
    /// The variable holding the pointer, when DWARF names it.
    pub variable: Option<String>,
    /// Source position of the frame's pc.
    pub file: Option<String>,
    pub line: Option<u32>,
    /// What kind of stack root: a live slot, a deferred call, a panic value.
    pub what: StackRootKind,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StackRootKind {
    #[default]
    Slot,
    Defer,
    Panic,
}

impl Root {
    pub fn new(
        kind: RootKind,
        name: String,
        addr: Option<u64>,
        targets: Vec<(ObjectId, u64)>,
    ) -> Root {
        Root {
            kind,
            name,
            addr,
            targets,
            frame: None,
            type_name: None,
            type_index: None,
        }
    }
}

/// What a stack root's name says when no variable owns its slots.
pub const UNNAMED_SLOTS: &str = "(unnamed slots)";
/// What a stack root's name says when it is an address-taken local the
/// collector scans as a stack object (a live slot may name the same variable).
pub const STACK_OBJECT: &str = "(stack object)";

#[derive(Default)]
pub struct Roots {
    pub roots: Vec<Root>,
}

impl Roots {
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Root> {
        self.roots.iter()
    }

    pub fn named(&self, name: &str) -> impl Iterator<Item = &Root> {
        self.roots.iter().filter(move |r| r.name == name)
    }
}
