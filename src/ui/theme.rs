//! Colours and sizes of the views, by meaning, for dark and light themes.

use egui::Color32;

use crate::analysis::SpanKind;

/// Semantic colours and sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub dark: bool,
    pub llm: Color32,
    pub tool: Color32,
    pub step: Color32,
    pub session: Color32,
    pub error: Color32,
    pub other: Color32,
    /// Slow calls (above their tool's p95 or the user's threshold).
    pub slow: Color32,
    /// Search hits.
    pub hit: Color32,
    pub selected: Color32,
    pub running: Color32,
    pub completed: Color32,
    pub cancelled: Color32,
    pub warning: Color32,
    pub grid: Color32,
    pub idle_gap: Color32,
    /// An idle stretch cut out of the time axis: its band, and its marks and label.
    pub cut: Color32,
    pub cut_mark: Color32,
    pub text_on_bar: Color32,
    pub muted: Color32,
    /// Height of one row in the Gantt chart, the tree and the tables.
    pub row_height: f32,
    /// Bars narrower than this many points are drawn as a minimum-width tick.
    pub min_bar_width: f32,
}

impl Theme {
    /// The theme for dark or light visuals.
    #[must_use]
    pub fn new(dark: bool) -> Self {
        if dark {
            Self {
                dark,
                llm: Color32::from_rgb(0x8b, 0x7c, 0xf6),
                tool: Color32::from_rgb(0x2d, 0xa4, 0x9a),
                step: Color32::from_rgb(0x5b, 0x6b, 0x82),
                session: Color32::from_rgb(0x3b, 0x4a, 0x5e),
                error: Color32::from_rgb(0xe5, 0x48, 0x4d),
                other: Color32::from_rgb(0x9a, 0x8f, 0x6a),
                slow: Color32::from_rgb(0xf5, 0x9e, 0x0b),
                hit: Color32::from_rgb(0xfa, 0xcc, 0x15),
                selected: Color32::from_rgb(0x60, 0xa5, 0xfa),
                running: Color32::from_rgb(0x38, 0xbd, 0xf8),
                completed: Color32::from_rgb(0x4a, 0xde, 0x80),
                cancelled: Color32::from_rgb(0xa8, 0xa2, 0x9e),
                warning: Color32::from_rgb(0xfb, 0xbf, 0x24),
                grid: Color32::from_white_alpha(18),
                idle_gap: Color32::from_white_alpha(8),
                cut: Color32::from_white_alpha(22),
                cut_mark: Color32::from_gray(175),
                text_on_bar: Color32::WHITE,
                muted: Color32::from_gray(140),
                row_height: 20.0,
                min_bar_width: 2.0,
            }
        } else {
            Self {
                dark,
                llm: Color32::from_rgb(0x7c, 0x6c, 0xf0),
                tool: Color32::from_rgb(0x14, 0x8f, 0x86),
                step: Color32::from_rgb(0x94, 0xa3, 0xb8),
                session: Color32::from_rgb(0xcb, 0xd5, 0xe1),
                error: Color32::from_rgb(0xdc, 0x26, 0x26),
                other: Color32::from_rgb(0xb4, 0xa5, 0x7a),
                // Darker than the dark theme's, to stand out on white as that one does on black.
                slow: Color32::from_rgb(0xc2, 0x5e, 0x00),
                hit: Color32::from_rgb(0xea, 0xb3, 0x08),
                selected: Color32::from_rgb(0x25, 0x63, 0xeb),
                running: Color32::from_rgb(0x02, 0x84, 0xc7),
                completed: Color32::from_rgb(0x16, 0xa3, 0x4a),
                cancelled: Color32::from_rgb(0x78, 0x71, 0x6c),
                warning: Color32::from_rgb(0xb4, 0x53, 0x09),
                grid: Color32::from_black_alpha(22),
                idle_gap: Color32::from_black_alpha(10),
                cut: Color32::from_black_alpha(28),
                cut_mark: Color32::from_gray(85),
                text_on_bar: Color32::BLACK,
                muted: Color32::from_gray(110),
                row_height: 20.0,
                min_bar_width: 2.0,
            }
        }
    }

    /// Bar colour of a span kind.
    #[must_use]
    pub fn kind(&self, kind: SpanKind) -> Color32 {
        match kind {
            SpanKind::Session => self.session,
            SpanKind::Step => self.step,
            SpanKind::Llm => self.llm,
            SpanKind::Tool => self.tool,
            SpanKind::Error => self.error,
            SpanKind::Other => self.other,
        }
    }

    /// Colour of a session status.
    #[must_use]
    pub fn status(&self, status: &str) -> Color32 {
        match status {
            "running" => self.running,
            "completed" => self.completed,
            "failed" => self.error,
            "cancelled" => self.cancelled,
            _ => self.muted,
        }
    }
}
