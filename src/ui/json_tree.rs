//! A collapsible JSON tree for a trace's `data`. Large objects show their first children and
//! say how many more there are, so a 200,000-key object costs what a screenful does.

use egui::{CollapsingHeader, RichText};
use serde_json::Value;

use crate::ui::theme::Theme;

/// Children shown per object or array before "… N more".
pub const CHILDREN_SHOWN: usize = 200;
/// Strings longer than this are cut (the full value is in the raw text view).
const STRING_SHOWN: usize = 2000;

/// Draws `value` as a tree; the root is open.
pub fn ui(ui: &mut egui::Ui, value: &Value, theme: &Theme) {
    node_ui(ui, None, value, 0, theme, "json-root");
}

fn scalar_text(value: &Value) -> RichText {
    match value {
        Value::Null => RichText::new("null").italics(),
        Value::Bool(b) => RichText::new(b.to_string()),
        Value::Number(n) => RichText::new(n.to_string()),
        Value::String(s) => {
            // Looks at no more than the characters it shows: a string may be megabytes.
            let (shown, more) = match s.char_indices().nth(STRING_SHOWN) {
                Some((end, _)) => (s.get(..end).unwrap_or_default(), "…"),
                None => (s.as_str(), ""),
            };
            RichText::new(format!("\"{shown}{more}\""))
        }
        Value::Array(a) => RichText::new(format!("[{} items]", a.len())),
        Value::Object(o) => RichText::new(format!("{{{} keys}}", o.len())),
    }
}

fn node_ui(ui: &mut egui::Ui, key: Option<&str>, value: &Value, depth: usize, theme: &Theme, id: &str) {
    // Keys are file text too: one bounded line.
    let key_text = key.map(|k| format!("{}: ", crate::ui::text::one_line(k))).unwrap_or_default();
    match value {
        Value::Object(map) if !map.is_empty() => {
            CollapsingHeader::new(RichText::new(format!("{key_text}{{{}}}", map.len())).monospace())
                .id_salt(id)
                .default_open(depth < 2)
                .show(ui, |ui| {
                    for (i, (k, v)) in map.iter().enumerate().take(CHILDREN_SHOWN) {
                        node_ui(ui, Some(k), v, depth + 1, theme, &format!("{id}/{i}"));
                    }
                    if map.len() > CHILDREN_SHOWN {
                        ui.label(
                            RichText::new(format!("… {} more keys", map.len() - CHILDREN_SHOWN)).color(theme.muted),
                        );
                    }
                });
        }
        Value::Array(items) if !items.is_empty() => {
            CollapsingHeader::new(RichText::new(format!("{key_text}[{}]", items.len())).monospace())
                .id_salt(id)
                .default_open(depth < 2)
                .show(ui, |ui| {
                    for (i, v) in items.iter().enumerate().take(CHILDREN_SHOWN) {
                        node_ui(ui, Some(&i.to_string()), v, depth + 1, theme, &format!("{id}/{i}"));
                    }
                    if items.len() > CHILDREN_SHOWN {
                        ui.label(
                            RichText::new(format!("… {} more items", items.len() - CHILDREN_SHOWN)).color(theme.muted),
                        );
                    }
                });
        }
        scalar => {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing.x = 0.0;
                ui.label(RichText::new(key_text).monospace().color(theme.muted));
                ui.label(scalar_text(scalar).monospace());
            });
        }
    }
}
