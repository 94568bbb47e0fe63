//! Analyses over the heap model. They never ask which input the model came from.

pub mod histogram;
pub mod listing;
pub mod reach;
pub mod summary;
