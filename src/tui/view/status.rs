//! The two status lines: progress and counts; then filters (or the line being typed, or a message).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::filter::IgnoreOption;
use crate::model::escape_control;
use crate::tui::app::{App, Prompt};
use crate::tui::keys::option_key;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App, theme: &Theme) {
    let lines = vec![progress_line(app, theme), second_line(app, theme)];
    frame.render_widget(Paragraph::new(lines), area);
}

fn progress_line(app: &App, theme: &Theme) -> Line<'static> {
    let p = app.report.progress;
    let mb = |b: u64| b as f64 / 1e6;
    let reading = if app.report.finished {
        "done".to_owned()
    } else if p.layers_total == 0 {
        "reading structure…".to_owned()
    } else {
        let rate = mb(p.bytes_done) / app.started.elapsed().as_secs_f64().max(0.001);
        format!(
            "reading layers {}/{}  {:.1}/{:.1} MB  {rate:.0} MB/s",
            p.layers_done,
            p.layers_total,
            mb(p.bytes_done),
            mb(p.bytes_total)
        )
    };
    let shown = app.shown.iter().filter(|s| **s).count();
    let errors = app.report.errors.len();
    let mut spans = vec![
        Span::styled(format!(" {reading} "), theme.heading()),
        Span::raw(format!("│ {shown} differences shown │ view {:?} │ ", app.view).to_lowercase()),
    ];
    let toggles = [
        ('A', "added", app.toggles.added),
        ('R', "removed", app.toggles.removed),
        ('M', "modified", app.toggles.modified),
        ('U', "unchanged", app.toggles.unchanged),
    ];
    for (key, name, on) in toggles {
        let style = if on { theme.heading() } else { theme.dim() };
        spans.push(Span::styled(format!("{key}:{name} "), style));
    }
    if errors > 0 {
        let first = app
            .report
            .errors
            .first()
            .map(|e| escape_control(e).into_owned())
            .unwrap_or_default();
        spans.push(Span::styled(
            format!("│ {errors} error(s): {first}"),
            theme.error(),
        ));
    }
    Line::from(spans)
}

fn second_line(app: &App, theme: &Theme) -> Line<'static> {
    match &app.prompt {
        Some(Prompt::Search(text)) => return Line::from(format!(" /{}▏", escape_control(text))),
        Some(Prompt::Export(text)) => {
            return Line::from(format!(
                " export the selected subtree to: {}▏  (Enter, Esc)",
                escape_control(text)
            ));
        }
        None => {}
    }
    if let Some(message) = &app.message {
        return Line::styled(format!(" {}", escape_control(message)), theme.heading());
    }
    let mut spans = vec![Span::raw(" filters: ")];
    let active = app.filter.options();
    if active.is_empty() {
        spans.push(Span::styled("none (strict) ", theme.dim()));
    }
    if !active.is_empty() {
        spans.push(Span::styled(
            format!("{} on ", active.len()),
            theme.changed(),
        ));
    }
    // Only the options that hide something right now: the line must fit 80 columns.
    for option in IgnoreOption::ALL.iter().filter(|o| active.contains(o)) {
        let hidden = app.hidden_by_option.get(option).copied().unwrap_or(0);
        if hidden > 0 {
            let name = option.flag().trim_start_matches("ignore-");
            spans.push(Span::styled(
                format!("[{}]{name} −{hidden} ", option_key(*option)),
                theme.changed(),
            ));
        }
    }
    if !app.filter.patterns().is_empty() {
        spans.push(Span::raw(format!("paths:{} ", app.filter.patterns().len())));
    }
    spans.push(Span::styled("│ ? help  q quit", theme.dim()));
    Line::from(spans)
}
