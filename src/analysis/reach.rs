//! Reachability: which objects a set of roots keeps alive.

use crate::model::{HeapModel, ObjectId, Root};

/// Marks every object reachable from `roots` (breadth-first over the CSR edges).
pub fn reachable<'r>(model: &HeapModel, roots: impl IntoIterator<Item = &'r Root>) -> Vec<bool> {
    let mut seen = vec![false; model.objects.len()];
    let mut queue: Vec<ObjectId> = Vec::new();
    for root in roots {
        for &(t, _) in &root.targets {
            if !std::mem::replace(&mut seen[t.index()], true) {
                queue.push(t);
            }
        }
    }
    let mut head = 0;
    while let Some(&id) = queue.get(head) {
        head += 1;
        for &t in model.edges.targets(id) {
            if !std::mem::replace(&mut seen[t.index()], true) {
                queue.push(t);
            }
        }
    }
    seen
}
