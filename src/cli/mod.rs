//! The binary's edge: argument parsing, the headless runner and its terminal niceties.

pub mod args;
pub mod example;
pub mod explore;
pub mod headless;
mod progress;
