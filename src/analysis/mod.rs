//! Analyses over the heap model. They never ask which input the model came from.

pub mod reach;
