//! Stand-in for the content pane (text hunks, hex, nested archives), replaced by the real module.

use std::sync::Arc;

use ratatui::text::Line;

use crate::model::{Report, Sides};
use crate::source::Image;

pub struct ContentLoader;

impl ContentLoader {
    pub fn new(_images: Option<Arc<Sides<Image>>>) -> ContentLoader {
        ContentLoader
    }
    pub fn want(&mut self, _report: &Report, _difference_index: usize) {}
    pub fn poll(&mut self) -> bool {
        false
    }
    pub fn insert(&mut self, _difference_index: usize, _contents: Sides<Option<Vec<u8>>>) {}
    pub fn lines(
        &self,
        _i: usize,
        _path: &str,
        _sbs: bool,
        _width: u16,
        _plain: bool,
    ) -> Vec<Line<'static>> {
        Vec::new()
    }
}
