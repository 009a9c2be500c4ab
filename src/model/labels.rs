//! What an event's `data` says for the views (tool, label, step, error), read leniently, and
//! the interner that shares the short texts a session repeats.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Deserialize;

use crate::model::{EventInfo, is_error_kind};

/// Hands out one shared copy of each short text a session repeats (event types, models,
/// providers, tool names, call labels), so a big session holds a handful of these strings,
/// not one per event. Up to [`Interner::KEPT`] distinct values are kept (a hostile file's
/// endless distinct values get their own copies past that), and the last one asked for.
#[derive(Default)]
pub(crate) struct Interner {
    pub(crate) kept: std::collections::HashSet<Arc<str>, crate::hash::IdHashBuilder>,
    pub(crate) last: Option<Arc<str>>,
}

impl Interner {
    pub(crate) const KEPT: usize = 4096;

    pub(crate) fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(last) = self.last.as_ref().filter(|l| ***l == *text) {
            return Arc::clone(last);
        }
        let shared = match self.kept.get(text) {
            Some(found) => Arc::clone(found),
            None => {
                let shared: Arc<str> = Arc::from(text);
                if self.kept.len() < Self::KEPT {
                    self.kept.insert(Arc::clone(&shared));
                }
                shared
            }
        };
        self.last = Some(Arc::clone(&shared));
        shared
    }
}

/// The few `data` keys the views use. Everything else is skipped unparsed into values.
#[derive(Deserialize, Default)]
pub(crate) struct DataFields<'a> {
    #[serde(borrow)]
    pub(crate) tool: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) tool_name: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) name: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) step_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) description: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) success: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) error: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) state: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) model: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) from_model: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) to_model: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) task: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) role: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) status: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) reason: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) used: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) max: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) message: Option<Scalar<'a>>,
}

/// One `data` value as the labels use it. Strings without escapes are borrowed from the JSON
/// text, so reading the few keys costs no allocation; objects and arrays keep their value
/// (a label shows them as JSON text).
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(serde_json::Number),
    Bool(bool),
    Null,
    Other(serde_json::Value),
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Num(v.into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(serde_json::Number::from_f64(v).map_or(Scalar::Null, Scalar::Num))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Null)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                serde_json::Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Scalar::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                serde_json::Value::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Scalar::Other)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

pub(crate) fn scalar_text(v: &Scalar<'_>) -> Option<String> {
    match v {
        Scalar::Str(s) => Some(s.as_ref().to_owned()),
        Scalar::Num(n) => Some(n.to_string()),
        Scalar::Bool(b) => Some(b.to_string()),
        Scalar::Null | Scalar::Other(serde_json::Value::Null) => None,
        Scalar::Other(serde_json::Value::String(s)) => Some(s.clone()),
        Scalar::Other(other) => Some(clip(&other.to_string())),
    }
}

pub(crate) const LABEL_CHARS: usize = 120;

/// Reads the label, tool, step id and failure flag of an event from its `data`.
#[must_use]
pub fn event_info_of(kind: &str, data: &str, model: Option<&str>) -> (EventInfo, Vec<String>) {
    let mut notes = Vec::new();
    let info = event_info(kind, data, model, &mut notes, &mut Interner::default());
    (info, notes)
}

pub(crate) fn event_info(
    kind: &str,
    data: &str,
    model: Option<&str>,
    notes: &mut Vec<String>,
    names: &mut Interner,
) -> EventInfo {
    // `data` rewritten without repeated keys, when it has some; the fields borrow from it.
    let deduplicated: String;
    let (fields, data_is_object) = if data.trim().is_empty() {
        (DataFields::default(), false)
    } else {
        match serde_json::from_str::<DataFields>(data) {
            // serde also reads a struct from an array of its fields in order: an array of
            // exactly 18 values would pass as an object whose `tool` is the first.
            Ok(_) if !data.trim_start().starts_with('{') => {
                notes.push("data is JSON but not an object".to_owned());
                (DataFields::default(), false)
            }
            Ok(f) => (f, true),
            Err(e) if e.classify() == serde_json::error::Category::Data => {
                // An object can still fail here: a key read above appears twice. Read it as a
                // map then (the last value of a repeated key wins), and say so.
                deduplicated = match serde_json::from_str::<serde_json::Value>(data) {
                    Ok(object @ serde_json::Value::Object(_)) => object.to_string(),
                    _ => String::new(),
                };
                match serde_json::from_str::<DataFields>(&deduplicated) {
                    Ok(f) => {
                        notes.push(format!("data repeats a key ({e}); the last value is used"));
                        (f, true)
                    }
                    Err(_) => {
                        notes.push("data is JSON but not an object".to_owned());
                        (DataFields::default(), false)
                    }
                }
            }
            Err(e) => {
                notes.push(format!("data is not valid JSON ({e})"));
                (DataFields::default(), false)
            }
        }
    };
    let s = |v: &Option<Scalar<'_>>| v.as_ref().and_then(scalar_text);
    let tool = s(&fields.tool)
        .or_else(|| s(&fields.tool_name))
        .or_else(|| if kind.contains("tool") { s(&fields.name) } else { None });
    let step_id = s(&fields.step_id);
    let error_text = s(&fields.error);
    let failed = matches!(fields.success, Some(Scalar::Bool(false)))
        || (error_text.is_some() && kind != "error" && !matches!(fields.success, Some(Scalar::Bool(true))));
    let label = match kind {
        "message" => model.map(str::to_owned).or_else(|| s(&fields.role)).unwrap_or_default(),
        "tool_called" | "tool_result" => tool.clone().unwrap_or_default(),
        "step_started" | "step_completed" => match (&step_id, s(&fields.description)) {
            (Some(id), Some(d)) => format!("{id}: {d}"),
            (Some(id), None) => id.clone(),
            (None, Some(d)) => d,
            (None, None) => String::new(),
        },
        "error" => error_text.clone().or_else(|| s(&fields.message)).unwrap_or_default(),
        "state_change" => s(&fields.state).unwrap_or_default(),
        "model_selected" => s(&fields.model).or_else(|| model.map(str::to_owned)).unwrap_or_default(),
        "model_switched" => match (s(&fields.from_model), s(&fields.to_model)) {
            (Some(a), Some(b)) => format!("{a} → {b}"),
            (None, Some(b)) => format!("→ {b}"),
            _ => model.map(str::to_owned).unwrap_or_default(),
        },
        "trace_started" => s(&fields.task).unwrap_or_default(),
        "trace_ended" | "completed" | "cancelled" => {
            s(&fields.status).or_else(|| s(&fields.reason)).unwrap_or_default()
        }
        "budget_warning" | "budget_exceeded" => match (s(&fields.used), s(&fields.max)) {
            (Some(u), Some(m)) => format!("{u} / {m}"),
            _ => String::new(),
        },
        _ => tool
            .clone()
            .or_else(|| s(&fields.message))
            .or_else(|| s(&fields.description))
            .or_else(|| error_text.clone())
            .or_else(|| model.map(str::to_owned))
            .unwrap_or_default(),
    };
    let label = if is_error_kind(kind) || !failed {
        label
    } else {
        match &error_text {
            Some(err) if !label.is_empty() => format!("{label}: {err}"),
            _ => label,
        }
    };
    let label = if label.chars().any(char::is_control) { one_line(&label) } else { label };
    // A string of at most LABEL_CHARS bytes has at most that many characters.
    let label = if label.len() > LABEL_CHARS && label.chars().count() > LABEL_CHARS {
        format!("{}…", label.chars().take(LABEL_CHARS).collect::<String>())
    } else {
        label
    };
    // Labels drawn from a small set are shared; step descriptions and errors are not worth
    // looking up.
    let repeats = matches!(kind, "tool_called" | "tool_result" | "message" | "state_change" | "model_selected");
    let label = if repeats { names.get(&label) } else { label.into() };
    EventInfo { label, tool: tool.map(|t| names.get(&t)), step_id: step_id.map(Into::into), failed, data_is_object }
}

pub(crate) fn clip(s: &str) -> String {
    if s.chars().count() > 40 { format!("{}…", s.chars().take(40).collect::<String>()) } else { s.to_owned() }
}

pub(crate) fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}
