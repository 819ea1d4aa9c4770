//! Colours, or none: with `NO_COLOR` set every style is built from modifiers only.

use ratatui::style::{Color, Modifier, Style};

use super::tree::Status;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub plain: bool,
}

impl Theme {
    pub fn from_env() -> Theme {
        Theme {
            plain: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }

    fn color(&self, color: Color) -> Style {
        if self.plain {
            Style::new()
        } else {
            Style::new().fg(color)
        }
    }

    pub fn status(&self, status: Status) -> Style {
        match status {
            Status::Added => self.color(Color::Green),
            Status::Removed => self.color(Color::Red),
            Status::TypeChanged => self.color(Color::Magenta),
            Status::Modified => self.color(Color::Yellow),
            Status::Unchanged => self.dim(),
        }
    }

    pub fn selected(&self, focused: bool) -> Style {
        if focused {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }

    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn heading(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// A field that differs and is shown.
    pub fn changed(&self) -> Style {
        self.color(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn context(&self) -> Style {
        self.color(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn badge(&self) -> Style {
        self.color(Color::Blue)
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.color(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }

    pub fn error(&self) -> Style {
        self.color(Color::Red).add_modifier(Modifier::BOLD)
    }
}
