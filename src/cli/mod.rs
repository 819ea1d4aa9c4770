//! The binary's edge: argument parsing, the headless runner and its terminal niceties.

pub mod args;
pub mod config;
mod debug;
pub mod example;
pub mod explore;
pub mod headless;
pub mod manual;
mod progress;
pub mod prune;
pub mod signals;
