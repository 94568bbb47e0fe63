//! Rows for listings of objects and roots, ready to render.

use serde::Serialize;

use super::why::{RootRef, root_ref};
use crate::model::{HeapModel, Root};

#[derive(Debug, Serialize)]
pub struct ObjectRow {
    pub address: String,
    pub size: u64,
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    pub live: bool,
}

#[derive(Debug, Serialize)]
pub struct RootRow {
    #[serde(flatten)]
    pub root: RootRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Heap objects this root points at directly.
    pub points_to: Vec<String>,
}

pub fn root_row(model: &HeapModel, r: &Root) -> RootRow {
    RootRow {
        root: root_ref(r),
        address: r.addr.map(|a| format!("{a:#x}")),
        points_to: r
            .targets
            .iter()
            .map(|&(t, _)| format!("{:#x}", model.objects.addr(t)))
            .collect(),
    }
}
