//! Analyses over the heap model. They never ask which input the model came from.

pub mod dominators;
pub mod graph;
pub mod histogram;
pub mod labels;
pub mod listing;
pub mod paths;
pub mod reach;
pub mod report;
pub mod retention;
pub mod sites;
pub mod summary;
pub mod why;
