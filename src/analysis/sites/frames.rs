//! Which frames of an allocation stack pprof shows, and the source positions
//! that profile samples and the dump's buckets are joined on.

use crate::model::SourceFrame;

/// pprof hides leading frames of these packages (runtime/pprof/protomem.go).
fn is_runtime_frame(f: &SourceFrame) -> bool {
    f.function.starts_with("runtime.") || f.function.starts_with("internal/runtime/")
}

/// Index of the first frame pprof shows: after the leading runtime frames,
/// unless the stack has nothing else.
pub(crate) fn first_visible(frames: &[SourceFrame]) -> usize {
    frames
        .iter()
        .position(|f| !is_runtime_frame(f))
        .unwrap_or_default()
}

/// The frames pprof shows: no leading runtime frames, and no
/// `runtime.goexit` at the bottom.
pub(crate) fn visible(frames: &[SourceFrame]) -> &[SourceFrame] {
    visible_bottom(&frames[first_visible(frames)..])
}

/// Source positions of a stack: what both sides agree on (heap dumps name
/// inlined frames after the function they are inlined into, but their files
/// and lines are the same).
pub(super) type Positions = Vec<(String, u32)>;
/// A join key: the positions of a stack and the object size.
pub(super) type Key = (Positions, u64);

pub(super) fn is_runtime_file(file: &str) -> bool {
    ["runtime/", "internal/runtime/"]
        .iter()
        .any(|dir| file.starts_with(dir) || file.contains(&format!("/src/{dir}")))
}

/// The join key's positions: leading frames in the runtime's files dropped.
/// pprof drops leading frames by *function* name, which a heap dump's
/// frames do not give for inlined calls, so both sides are cut by file
/// instead (every runtime function lives in a runtime file).
pub(super) fn positions(frames: &[SourceFrame]) -> Positions {
    let all = visible_bottom(frames);
    // A stack entirely inside the runtime (its own allocations) is cut by
    // name as pprof cuts it; the legacy text omits those frames.
    let start = all
        .iter()
        .position(|f| !f.file.as_deref().is_some_and(is_runtime_file))
        .unwrap_or_else(|| first_visible(all));
    all[start..]
        .iter()
        .map(|f| (f.file.clone().unwrap_or_default(), f.line.unwrap_or(0)))
        .collect()
}

/// Whether the innermost recorded frame is part of the join key.
pub(super) fn keeps_leaf(frames: &[SourceFrame]) -> bool {
    positions(frames).len() == visible_bottom(frames).len()
}

/// A key with its innermost position made a wildcard.
pub(super) fn without_leaf(pos: &Positions) -> Positions {
    let mut p = pos.clone();
    if let Some(first) = p.first_mut() {
        *first = (String::new(), 0);
    }
    p
}

/// Without `runtime.goexit` at the bottom (it symbolizes to nothing in pprof).
fn visible_bottom(frames: &[SourceFrame]) -> &[SourceFrame] {
    let mut v = frames;
    while let [rest @ .., last] = v {
        if last.function != "runtime.goexit" {
            break;
        }
        v = rest;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_frames_are_hidden_unless_all_are_runtime() {
        let f = |name: &str| SourceFrame {
            function: name.into(),
            file: None,
            line: None,
        };
        let stack = [
            f("runtime.newobject"),
            f("internal/runtime/maps.newarray"),
            f("main.f"),
        ];
        assert_eq!(first_visible(&stack), 2);
        assert_eq!(first_visible(&stack[..2]), 0);
        assert_eq!(first_visible(&[f("reflect.New"), f("runtime.x")]), 0);
    }
}
