//! What an event's `data` says for the views (tool, label, step, error), read leniently, and
//! the interner that shares the short texts a session repeats.

use arcstr::ArcStr;
use std::borrow::Cow;

use serde::Deserialize;

use crate::model::{CallArgs, EventInfo, is_error_kind};

/// Hands out one shared copy of each short text a session repeats (event types, models,
/// providers, tool names, call labels), so a big session holds a handful of these strings,
/// not one per event. Up to [`Interner::KEPT`] distinct values are kept (a hostile file's
/// endless distinct values get their own copies past that), and the last one asked for.
#[derive(Default)]
pub(crate) struct Interner {
    pub(crate) kept: std::collections::HashSet<ArcStr, crate::hash::IdHashBuilder>,
    pub(crate) last: Option<ArcStr>,
    /// Step ids seen lately: a step's start and end name the same one.
    pub(crate) steps: std::collections::HashSet<ArcStr, crate::hash::IdHashBuilder>,
}

impl Interner {
    pub(crate) const KEPT: usize = 4096;

    pub(crate) fn get(&mut self, text: &str) -> ArcStr {
        if let Some(last) = self.last.as_ref().filter(|l| ***l == *text) {
            return ArcStr::clone(last);
        }
        let shared = match self.kept.get(text) {
            Some(found) => ArcStr::clone(found),
            None => {
                let shared: ArcStr = ArcStr::from(text);
                if self.kept.len() < Self::KEPT {
                    self.kept.insert(ArcStr::clone(&shared));
                }
                shared
            }
        };
        self.last = Some(ArcStr::clone(&shared));
        shared
    }

    /// A step id, shared with the other events of its step while it is among the last
    /// [`Interner::KEPT`] step ids seen.
    pub(crate) fn step(&mut self, id: &str) -> ArcStr {
        if let Some(found) = self.steps.get(id) {
            return found.clone();
        }
        if self.steps.len() >= Self::KEPT {
            self.steps.clear();
        }
        let shared = ArcStr::from(id);
        self.steps.insert(shared.clone());
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
    // Where agents put a tool call's arguments (read only when the event names a tool).
    #[serde(borrow)]
    pub(crate) params: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) parameters: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) arguments: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) args: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) input: Option<Scalar<'a>>,
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
    let mut notes = super::Notes::default();
    let info = event_info(kind, data, model, &mut notes, &mut Interner::default());
    (info, notes.to_vec())
}

pub(crate) fn event_info(
    kind: &str,
    data: &str,
    model: Option<&str>,
    notes: &mut super::Notes,
    names: &mut Interner,
) -> EventInfo {
    // `data` rewritten without repeated keys, when it has some; the fields borrow from it.
    let deduplicated: String;
    let (fields, data_is_object) = if data.trim().is_empty() {
        (DataFields::default(), false)
    } else {
        match serde_json::from_str::<DataFields>(data) {
            // serde also reads a struct from an array of its fields in order: an array of
            // exactly as many values as it has fields would pass as an object.
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
    let label = if repeats {
        names.get(&label)
    } else if step_id.as_deref() == Some(label.as_str()) {
        names.step(&label)
    } else {
        label.into()
    };
    // A step's end is labelled with its id alone: both share one copy.
    let step_id = step_id.map(|id| if *label == *id { label.clone() } else { names.step(&id) });
    let args = match &tool {
        Some(_) => [&fields.params, &fields.parameters, &fields.arguments, &fields.args, &fields.input]
            .into_iter()
            .find_map(Option::as_ref)
            .map(|a| Box::new(call_args(a))),
        None => None,
    };
    EventInfo { label, tool: tool.map(|t| names.get(&t)), step_id, failed, data_is_object, raw_io: false, args }
}

/// The hash and word set of a tool call's arguments ([`CallArgs`]).
fn call_args(args: &Scalar<'_>) -> CallArgs {
    let mut text = String::new();
    let mut words = Vec::new();
    match args {
        // Arguments given as JSON text (OpenAI's `arguments`) are compared as the JSON.
        Scalar::Str(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(v @ (serde_json::Value::Object(_) | serde_json::Value::Array(_))) => {
                normalise(&v, &mut text, &mut words);
            }
            _ => normalise(&serde_json::Value::String(s.as_ref().to_owned()), &mut text, &mut words),
        },
        Scalar::Num(n) => normalise(&serde_json::Value::Number(n.clone()), &mut text, &mut words),
        Scalar::Bool(b) => normalise(&serde_json::Value::Bool(*b), &mut text, &mut words),
        Scalar::Null => text.push_str("null"),
        Scalar::Other(v) => normalise(v, &mut text, &mut words),
    }
    use std::hash::BuildHasher as _;
    let hasher = crate::hash::IdHashBuilder::default();
    let mut tokens: Vec<u32> = words.iter().map(|w: &String| hasher.hash_one(w.as_str()) as u32).collect();
    tokens.sort_unstable();
    tokens.dedup();
    CallArgs { hash: hasher.hash_one(text.as_str()), tokens: tokens.into_boxed_slice() }
}

/// Writes `v` as compact JSON with object keys sorted and integral floats as integers, and
/// collects its lower-cased words (keys and values). Recursion is bounded: serde_json parses
/// at most 128 levels.
fn normalise(v: &serde_json::Value, out: &mut String, words: &mut Vec<String>) {
    use serde_json::Value;
    fn add_words(text: &str, words: &mut Vec<String>) {
        words.extend(text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase));
    }
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let integral = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15 && n.is_f64());
            let text = match integral {
                Some(f) => format!("{}", f as i64),
                None => n.to_string(),
            };
            add_words(&text, words);
            out.push_str(&text);
        }
        Value::String(s) => {
            add_words(s, words);
            out.push_str(&Value::String(s.clone()).to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                normalise(item, out, words);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                add_words(key, words);
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                normalise(value, out, words);
            }
            out.push('}');
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(kind: &str, data: &str) -> Option<Box<CallArgs>> {
        event_info_of(kind, data, None).0.args
    }

    #[test]
    fn tool_arguments_compare_after_normalising_their_json() {
        let a = args("tool_called", r#"{"tool": "read", "params": {"path": "/a/b.rs", "lines": [1, 2.0]}}"#);
        let b = args("tool_called", r#"{"params":{ "lines" : [1,2], "path":"/a/b.rs"},"tool":"read"}"#);
        let (a, b) = (a.expect("args"), b.expect("args"));
        assert_eq!(a.hash, b.hash, "key order, whitespace and 2.0 vs 2 do not matter");
        assert_eq!(a.tokens, b.tokens);
        // Words: lines, 1, 2, path, a, b, rs.
        assert_eq!(a.tokens.len(), 7);
        let other = args("tool_called", r#"{"tool": "read", "params": {"path": "/a/c.rs", "lines": [1, 2]}}"#);
        assert_ne!(other.expect("args").hash, a.hash);
        // OpenAI-style arguments as JSON text are read as the JSON they hold.
        let text =
            args("tool_called", r#"{"name": "read", "arguments": "{\"path\": \"/a/b.rs\", \"lines\": [1, 2]}"}"#);
        assert_eq!(text.expect("args").hash, a.hash);
        // A plain string argument is compared as the string.
        let plain = args("tool_called", r#"{"tool": "sh", "input": "ls -la"}"#).expect("args");
        assert_eq!(plain.tokens.len(), 2);
    }

    #[test]
    fn a_steps_events_share_one_copy_of_its_id() {
        let mut names = Interner::default();
        let mut info =
            |kind: &str, data: &str| event_info(kind, data, None, &mut super::super::Notes::default(), &mut names);
        let start = info("step_started", r#"{"step_id": "s7", "description": "read the file"}"#);
        let end = info("step_completed", r#"{"step_id": "s7", "result": "ok"}"#);
        assert_eq!((&*start.label, &*end.label), ("s7: read the file", "s7"));
        let (Some(a), Some(b)) = (&start.step_id, &end.step_id) else { panic!("step ids") };
        assert_eq!((&**a, &**b), ("s7", "s7"));
        assert!(ArcStr::ptr_eq(a, b) && ArcStr::ptr_eq(b, &end.label), "one copy for the id and the end's label");
        let other = info("step_completed", r#"{"step_id": "s8"}"#);
        assert!(other.step_id.as_deref() == Some("s8") && !ArcStr::ptr_eq(a, &other.label));
    }

    #[test]
    fn no_arguments_without_a_tool_or_without_json() {
        assert_eq!(args("tool_called", r#"{"tool": "read"}"#), None, "no arguments logged");
        assert_eq!(args("message", r#"{"params": {"a": 1}}"#), None, "not a tool call");
        assert_eq!(args("tool_called", "tool=read params=x"), None, "data that is not JSON");
        let empty = args("tool_called", r#"{"tool": "read", "params": {}}"#).expect("args");
        assert!(empty.tokens.is_empty());
    }
}
