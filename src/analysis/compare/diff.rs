//! The detail of one pair, compared when it is opened: two JSON values path by path
//! ([`json_diff`]) and two texts line by line ([`line_diff`]).

use serde::Serialize;
use serde_json::Value;
use similar::Algorithm;

/// What happened to a value at one path of two JSON documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonChangeKind {
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// In both, different (another value or another type).
    Changed,
}

/// One difference between two JSON values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JsonChange {
    /// A JSON Pointer (RFC 6901): `/params/path`, `/items/2`; `""` is the whole value.
    pub path: String,
    pub kind: JsonChangeKind,
    /// The value in A (`None` when added).
    pub a: Option<Value>,
    /// The value in B (`None` when removed).
    pub b: Option<Value>,
}

/// The differences between two JSON values: keys added, removed or changed, with their paths,
/// objects compared key by key and arrays index by index, in key order. Numbers compare by
/// value (`1` and `1.0` are the same). Walked without recursion.
#[must_use]
pub fn json_diff(a: &Value, b: &Value) -> Vec<JsonChange> {
    let mut out = Vec::new();
    let mut stack: Vec<Pending<'_>> = vec![(String::new(), a, b)];
    let child = |path: &str, key: &str| {
        let mut p = String::with_capacity(path.len() + key.len() + 1);
        p.push_str(path);
        p.push('/');
        p.push_str(&key.replace('~', "~0").replace('/', "~1"));
        p
    };
    while let Some((path, x, y)) = stack.pop() {
        match (x, y) {
            (Value::Object(mx), Value::Object(my)) => {
                let mut keys: Vec<&String> = mx.keys().chain(my.keys().filter(|k| !mx.contains_key(*k))).collect();
                keys.sort();
                let members = keys.into_iter().map(|k| (child(&path, k), mx.get(k), my.get(k)));
                descend(members, &mut stack, &mut out);
            }
            (Value::Array(ax), Value::Array(ay)) => {
                let items = (0..ax.len().max(ay.len())).map(|i| (child(&path, &i.to_string()), ax.get(i), ay.get(i)));
                descend(items, &mut stack, &mut out);
            }
            (Value::Number(nx), Value::Number(ny)) => {
                let same = nx == ny || nx.as_f64().zip(ny.as_f64()).is_some_and(|(p, q)| p == q);
                if !same {
                    out.push(change(path, JsonChangeKind::Changed, Some(x), Some(y)));
                }
            }
            _ if x == y => {}
            _ => out.push(change(path, JsonChangeKind::Changed, Some(x), Some(y))),
        }
    }
    out.sort_by(|p, q| p.path.cmp(&q.path));
    out
}

/// A path still to compare, with its value in A and in B.
type Pending<'v> = (String, &'v Value, &'v Value);

/// The members of two objects or the items of two arrays, by path: those in both go on `stack`
/// (popped in the order given), the others are added or removed.
fn descend<'v>(
    children: impl Iterator<Item = (String, Option<&'v Value>, Option<&'v Value>)>,
    stack: &mut Vec<Pending<'v>>,
    out: &mut Vec<JsonChange>,
) {
    let first = stack.len();
    for (p, vx, vy) in children {
        match (vx, vy) {
            (Some(vx), Some(vy)) => stack.push((p, vx, vy)),
            (Some(vx), None) => out.push(change(p, JsonChangeKind::Removed, Some(vx), None)),
            (None, Some(vy)) => out.push(change(p, JsonChangeKind::Added, None, Some(vy))),
            (None, None) => {}
        }
    }
    stack.get_mut(first..).unwrap_or_default().reverse();
}

fn change(path: String, kind: JsonChangeKind, a: Option<&Value>, b: Option<&Value>) -> JsonChange {
    JsonChange { path, kind, a: a.cloned(), b: b.cloned() }
}

/// What a line of a [`line_diff`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineTag {
    Same,
    /// Only in A.
    Removed,
    /// Only in B.
    Added,
}

/// One line of a line diff, without its line break.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub tag: LineTag,
    /// 0-based line numbers in A and in B.
    pub a_line: Option<usize>,
    pub b_line: Option<usize>,
    pub text: String,
}

/// Two texts line by line (Myers, by `similar`): every line of both, in order.
#[must_use]
pub fn line_diff(a: &str, b: &str) -> Vec<DiffLine> {
    let diff = similar::TextDiff::configure().algorithm(Algorithm::Myers).diff_lines(a, b);
    diff.iter_all_changes()
        .map(|c| DiffLine {
            tag: match c.tag() {
                similar::ChangeTag::Equal => LineTag::Same,
                similar::ChangeTag::Delete => LineTag::Removed,
                similar::ChangeTag::Insert => LineTag::Added,
            },
            a_line: c.old_index(),
            b_line: c.new_index(),
            text: c.value().trim_end_matches(['\n', '\r']).to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_differ_by_path() {
        let a: Value = serde_json::json!({"tool": "web_search", "params": {"q": "rust", "n": 1, "tags": ["a", "b"]}, "old": true, "a/b": 1});
        let b: Value = serde_json::json!({"tool": "web_search", "params": {"q": "rust diff", "n": 1.0, "tags": ["a"]}, "new": null, "a/b": "1"});
        let changes: Vec<(String, JsonChangeKind)> = json_diff(&a, &b).into_iter().map(|c| (c.path, c.kind)).collect();
        assert_eq!(
            changes,
            [
                ("/a~1b".to_owned(), JsonChangeKind::Changed),
                ("/new".to_owned(), JsonChangeKind::Added),
                ("/old".to_owned(), JsonChangeKind::Removed),
                ("/params/q".to_owned(), JsonChangeKind::Changed),
                ("/params/tags/1".to_owned(), JsonChangeKind::Removed),
            ]
        );
        let d = json_diff(&a, &b);
        assert_eq!(d[3].a, Some(Value::from("rust")));
        assert_eq!(d[3].b, Some(Value::from("rust diff")));
        assert!(json_diff(&a, &a).is_empty());
        let whole = json_diff(&Value::from(1), &Value::from("x"));
        assert_eq!((whole[0].path.as_str(), whole[0].kind), ("", JsonChangeKind::Changed));
        // Deep nesting is walked without recursion.
        let mut deep_a = Value::from(1);
        let mut deep_b = Value::from(2);
        for _ in 0..100_000 {
            deep_a = Value::Array(vec![deep_a]);
            deep_b = Value::Array(vec![deep_b]);
        }
        let d = json_diff(&deep_a, &deep_b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path.len(), 200_000);
        // serde_json drops nested values recursively; leave them to the OS.
        std::mem::forget((deep_a, deep_b, d));
    }

    #[test]
    fn texts_differ_line_by_line() {
        let d = line_diff("one\ntwo\nthree\n", "one\n2\nthree\nfour");
        let lines: Vec<(LineTag, Option<usize>, Option<usize>, &str)> =
            d.iter().map(|l| (l.tag, l.a_line, l.b_line, l.text.as_str())).collect();
        assert_eq!(
            lines,
            [
                (LineTag::Same, Some(0), Some(0), "one"),
                (LineTag::Removed, Some(1), None, "two"),
                (LineTag::Added, None, Some(1), "2"),
                (LineTag::Same, Some(2), Some(2), "three"),
                (LineTag::Added, None, Some(3), "four"),
            ]
        );
        assert!(line_diff("", "").is_empty());
        assert_eq!(line_diff("a\r\n", "a\r\n")[0].text, "a");
    }
}
