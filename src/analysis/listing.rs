//! Rows for listings of objects and roots, ready to render.

use serde::Serialize;

use crate::model::{HeapModel, Root, RootKind};

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
    pub kind: RootKind,
    pub name: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goroutine: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Heap objects this root points at directly.
    pub points_to: Vec<String>,
}

pub fn root_row(model: &HeapModel, r: &Root) -> RootRow {
    let frame = r.frame.as_ref();
    RootRow {
        kind: r.kind,
        name: r.name.clone(),
        type_name: r.type_name.clone(),
        address: r.addr.map(|a| format!("{a:#x}")),
        goroutine: frame.map(|f| f.goroutine),
        function: frame.map(|f| f.function.clone()).filter(|f| !f.is_empty()),
        variable: frame.and_then(|f| f.variable.clone()),
        file: frame.and_then(|f| f.file.clone()),
        line: frame.and_then(|f| f.line),
        points_to: r
            .targets
            .iter()
            .map(|&(t, _)| format!("{:#x}", model.objects.addr(t)))
            .collect(),
    }
}
