//! Headless report writers.
