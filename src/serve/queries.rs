//! What the web UI asks of a heap, as one small trait, and its errors: the
//! in-memory model answers it today (`model_queries`), the persistent index later.

use serde_json::Value;

/// A request the heap cannot answer, and why: rendered as an HTTP error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// Well-formed, but nothing is there (an address outside every object).
    NotFound(String),
    /// Malformed or out of bounds (a page size above the maximum).
    BadRequest(String),
}

/// The largest page of dominator-tree children one request may ask for.
pub const MAX_PAGE: usize = 1000;
/// The most retention paths one object request may ask for.
pub const MAX_PATHS: usize = 20;

/// A node of the dominator tree: its number, or the object holding an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeRef {
    Node(u32),
    Address(u64),
}

/// The questions the UI's pages ask. Every answer is a JSON document; the
/// costly analyses behind them are done once, so each call is a lookup.
pub trait HeapQueries {
    /// The file, the Go version, heap totals, leak suspects and top holders.
    fn overview(&self) -> Value;
    /// One dominator-tree node with its owners (its dominators, root first).
    fn tree_node(&self, node: NodeRef) -> Result<Value, QueryError>;
    /// A page of a node's children, largest retained first.
    fn tree_children(
        &self,
        node: NodeRef,
        offset: usize,
        limit: usize,
    ) -> Result<Value, QueryError>;
    /// An object: fields, referents, referrers and paths from roots, with the
    /// references excluded as `why --exclude` excludes them.
    fn object(&self, address: u64, exclude: &[String], paths: usize) -> Result<Value, QueryError>;
    /// The histogram with retained bytes per type.
    fn types(&self) -> Value;
    /// Goroutine groups and every goroutine.
    fn goroutines(&self) -> Value;
    /// Allocation sites with their holders.
    fn sites(&self) -> Value;
}
