//! Renderers: human text, JSON and the HTML report. Analyses produce plain data; only this
//! module decides how it looks.

pub mod diff;
pub mod holders;
pub mod html;
pub mod json;
pub mod pprof;
pub mod text;
