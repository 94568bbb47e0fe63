//! The trie of chains: frame ids merged by prefix, with recursion folded
//! back onto the chain and depth bounded by one marker (see `chains`).

use rustc_hash::FxHashMap;

use super::{MAX_DEPTH, NONE, TOP};

/// Chains of frame ids, merged by prefix; node `TOP` is the empty chain.
pub(super) struct Trie {
    /// Per node: (parent, frame).
    pub(super) nodes: Vec<(u32, u32)>,
    depths: Vec<u16>,
    children: FxHashMap<(u32, u32), u32>,
}

impl Trie {
    pub(super) fn new() -> Trie {
        Trie {
            nodes: vec![(NONE, NONE)],
            depths: vec![0],
            children: FxHashMap::default(),
        }
    }

    /// The node for frame `f` below `t`: the nearest ancestor (or `t`
    /// itself) with frame `f` when there is one, so recursion folds; past
    /// `MAX_DEPTH` frames (the holder's included), a child of the `deeper`
    /// marker below the chain's first `MAX_DEPTH` frames.
    pub(super) fn extend(&mut self, t: u32, f: u32, deeper: u32) -> u32 {
        let mut a = t;
        while a != TOP {
            let (parent, frame) = self.nodes[a as usize];
            if frame == f {
                return a;
            }
            a = parent;
        }
        if self.depth(t) >= MAX_DEPTH {
            let mut anchor = t;
            while self.depth(anchor) > MAX_DEPTH {
                anchor = self.nodes[anchor as usize].0;
            }
            let marker = self.child(anchor, deeper);
            return self.child(marker, f);
        }
        self.child(t, f)
    }

    fn child(&mut self, t: u32, f: u32) -> u32 {
        if let Some(&c) = self.children.get(&(t, f)) {
            return c;
        }
        let c = self.nodes.len() as u32;
        self.nodes.push((t, f));
        self.depths.push(self.depths[t as usize].saturating_add(1));
        self.children.insert((t, f), c);
        c
    }

    pub(super) fn depth(&self, t: u32) -> u16 {
        self.depths[t as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_DEPTH, TOP, Trie};

    #[test]
    fn recursion_folds_back_to_the_frame_on_the_chain() {
        let mut t = Trie::new();
        let holder = t.extend(TOP, 0, 99);
        let a = t.extend(holder, 1, 99);
        // A list: the same frame again is the same node.
        assert_eq!(t.extend(a, 1, 99), a);
        // A tree alternating .left and .right returns to the first .left.
        let b = t.extend(a, 2, 99);
        assert_eq!(t.extend(b, 1, 99), a);
        let back = t.extend(b, 1, 99);
        assert_eq!(t.extend(back, 2, 99), b);
        assert_eq!(t.depth(b), 3);
        assert_eq!(t.nodes.len(), 4);
    }

    #[test]
    fn depth_is_bounded_by_one_marker() {
        let mut t = Trie::new();
        let mut node = TOP;
        let deeper = 1_000_000;
        for f in 0..(MAX_DEPTH as u32 + 100) {
            node = t.extend(node, f, deeper);
            assert!(t.depth(node) <= MAX_DEPTH + 2, "{f}");
        }
        // Every frame past the limit hangs below the one marker.
        let marker = t.nodes[node as usize].0;
        assert_eq!(t.nodes[marker as usize].1, deeper);
        assert_eq!(t.depth(marker), MAX_DEPTH + 1);
        let below = t.nodes.iter().filter(|&&(p, _)| p == marker).count();
        assert_eq!(below, 100);
    }
}
