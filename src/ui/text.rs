//! File text in one line: cut before egui sees it, then elided to the room it has.
//!
//! A value from the file (a task, a model name, an event type, a tool name) can be megabytes
//! on one line. egui lays out, tessellates and caches every character it is given, even those
//! an elided label never shows: a 2 MB task in a heading held hundreds of megabytes and
//! covered half the window. So every view passes file text through [`one_line`] (a bounded
//! number of characters, line breaks and control characters made spaces) before any `Ui`
//! call, and draws it with [`line_label`] (one row, "…" at the width, the cut text on hover).
//! The whole value stays reachable where it belongs: the detail view (cut at a size it can lay
//! out, with the real size said) or a copy button.

use std::borrow::Cow;
use std::sync::Arc;

use egui::{Galley, Label, Response, RichText, TextWrapMode, Ui, WidgetText};

/// Characters of file text given to a one-line widget: more than any window is wide, few
/// enough that laying them out every frame costs nothing.
pub const LINE_CHARS: usize = 300;

/// `text` as one line of at most [`LINE_CHARS`] characters (plus "…" when cut). Line breaks,
/// tabs and other control characters become spaces. Borrows when nothing changes, which is
/// the case for ordinary text; looks at no more than the first [`LINE_CHARS`] + 1 characters.
#[must_use]
pub fn one_line(text: &str) -> Cow<'_, str> {
    one_line_max(text, LINE_CHARS)
}

/// [`one_line`] with a bound of one's own.
#[must_use]
pub fn one_line_max(text: &str, max_chars: usize) -> Cow<'_, str> {
    let mut end = text.len();
    let mut clean = true;
    for (n, (i, c)) in text.char_indices().enumerate() {
        if n == max_chars {
            end = i;
            break;
        }
        clean &= !c.is_control();
    }
    let cut = end < text.len();
    if clean && !cut {
        return Cow::Borrowed(text);
    }
    let head = text.get(..end).unwrap_or_default();
    let mut line: String = head.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if cut {
        line.push('…');
    }
    Cow::Owned(line)
}

/// True when [`one_line`] shows less than the whole of `text` (it was cut, or had line breaks
/// or control characters): then the view offers the whole value another way.
#[must_use]
pub fn is_shortened(text: &str) -> bool {
    matches!(one_line(text), Cow::Owned(_))
}

/// `text` laid out in one row at most `max_width` points wide (and no wider than the room
/// left), "…" where it is cut (`elided` says so). Give it [`one_line`] text. Not for a grid
/// cell: see [`cell_label`].
#[must_use]
pub fn line_galley(ui: &Ui, text: impl Into<WidgetText>, max_width: f32) -> Arc<Galley> {
    truncated_galley(ui, text, max_width.min(ui.available_width()))
}

/// `text` in one row of at most `width` points, whatever room the `Ui` says it has.
fn truncated_galley(ui: &Ui, text: impl Into<WidgetText>, width: f32) -> Arc<Galley> {
    text.into().into_galley(ui, Some(TextWrapMode::Truncate), width.max(0.0), egui::TextStyle::Body)
}

/// A one-row label in a grid cell, at most `width` wide. A cell offers only the width its
/// column had last frame (next to nothing on the first), so bounding by the room left would
/// shrink a column to "…" for good: the caller gives the bound.
pub fn cell_label(ui: &mut Ui, text: impl Into<WidgetText>, width: f32) -> Response {
    let galley = truncated_galley(ui, text, width);
    ui.add(Label::new(galley))
}

/// A label of a [`line_galley`]: it shows its text whole on hover when elided (turn that off
/// with [`Label::show_tooltip_when_elided`] when the caller has a tooltip of its own).
pub fn line(ui: &Ui, text: impl Into<WidgetText>, max_width: f32) -> Label {
    Label::new(line_galley(ui, text, max_width))
}

/// Adds a [`line`](fn@line).
pub fn line_label(ui: &mut Ui, text: impl Into<WidgetText>, max_width: f32) -> Response {
    let label = line(ui, text, max_width);
    ui.add(label)
}

/// What [`value_line`] drew.
#[must_use]
pub struct ValueLine {
    /// The label's response.
    pub response: Response,
    /// The line shows less than the whole value.
    pub shortened: bool,
    /// The "Copy" button beside a shortened value was clicked.
    pub copy: bool,
}

/// A value from the file in one row at most `max_width` wide, styled by `style`. When the row
/// shows less than the whole value (cut, elided, or line breaks made spaces), a small "Copy"
/// button follows it, so the whole value is one click away. The caller gives the room (as for
/// [`cell_label`], a grid cell cannot say).
pub fn value_line(ui: &mut Ui, value: &str, style: impl Fn(RichText) -> RichText, max_width: f32) -> ValueLine {
    let shown = one_line(value);
    let cut = matches!(shown, Cow::Owned(_));
    let text = style(RichText::new(shown));
    let galley = truncated_galley(ui, text.clone(), max_width);
    if !cut && !galley.elided {
        return ValueLine { response: ui.add(Label::new(galley)), shortened: false, copy: false };
    }
    // Room for the button, so that the row keeps within `max_width`.
    let button =
        WidgetText::from(COPY).into_galley(ui, Some(TextWrapMode::Extend), f32::INFINITY, egui::TextStyle::Button);
    let reserve = button.size().x + 2.0 * ui.spacing().button_padding.x + ui.spacing().item_spacing.x;
    ui.horizontal(|ui| {
        let galley = truncated_galley(ui, text, max_width - reserve);
        let response = ui.add(Label::new(galley));
        let copy = ui
            .small_button(COPY)
            .on_hover_text(format!("Copy the whole value ({})", format_bytes(value.len() as u64)))
            .clicked();
        ValueLine { response, shortened: true, copy }
    })
    .inner
}

/// The label of the copy button beside a shortened value.
const COPY: &str = "Copy";

/// A byte count for people: `512 B`, `64.0 KiB`, `2.0 MiB` (never `1024.0 KiB`).
#[must_use]
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Shown with one decimal: the precision f64 loses above 2^53 bytes does not matter.
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // 1023.95 would print as "1024.0": the next unit reads better.
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The start of `text`, at most `max_bytes` long, cut on a character boundary.
#[must_use]
pub fn head_bytes(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        let text = "Refactor the payment module";
        assert!(matches!(one_line(text), Cow::Borrowed(t) if t == text));
        assert!(!is_shortened(text));
        let exactly = "é".repeat(LINE_CHARS);
        assert!(matches!(one_line(&exactly), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_is_cut_by_characters_with_an_ellipsis() {
        let text = "é".repeat(2_000_000);
        let line = one_line(&text);
        assert_eq!(line.chars().count(), LINE_CHARS + 1);
        assert!(line.ends_with("é…"));
        assert!(is_shortened(&text));
        assert_eq!(one_line_max("abcdef", 3), "abc…");
        assert_eq!(one_line_max("", 3), "");
    }

    #[test]
    fn line_breaks_and_controls_become_spaces() {
        assert_eq!(one_line("a\nb\r\nc\td\u{7}e"), "a b  c d e");
        assert!(is_shortened("two\nlines"));
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(64 * 1024), "64.0 KiB");
        assert_eq!(format_bytes(2 * 1024 * 1024 + 100_000), "2.1 MiB");
        assert_eq!(format_bytes(3 << 30), "3.0 GiB");
        assert_eq!(format_bytes((1 << 20) - 4), "1.0 MiB");
        assert_eq!(format_bytes(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn heads_end_on_character_boundaries() {
        assert_eq!(head_bytes("héllo", 2), "h");
        assert_eq!(head_bytes("héllo", 3), "hé");
        assert_eq!(head_bytes("abc", 10), "abc");
    }
}
