//! Renderers: human text and JSON. Analyses produce plain data; only this
//! module decides how it looks.

pub mod diff;
pub mod holders;
pub mod json;
pub mod text;
