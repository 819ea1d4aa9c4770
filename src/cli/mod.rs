//! The binary's edge: argument parsing, the headless runner and its terminal niceties.

pub mod args;
mod debug;
pub mod example;
pub mod explore;
pub mod headless;
mod progress;
pub mod prune;
pub mod signals;
