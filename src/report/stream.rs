//! Pretty JSON written piece by piece. A report's one large array (findings, SARIF results) is
//! produced and written an item at a time, so ten thousand findings never sit in memory twice
//! (as values and as text). The bytes are exactly those `serde_json::to_string_pretty` would
//! write for the whole document, given keys in the sorted order `serde_json` uses.

use serde_json::Value;
use std::io::{self, Write};

/// One part of a document.
pub enum Part<'a> {
    Value(Value),
    /// An array whose items are made as they are written.
    Items(Box<dyn Iterator<Item = Value> + 'a>),
    /// An object, keys in sorted order.
    Object(Vec<(&'static str, Part<'a>)>),
    Array(Vec<Part<'a>>),
}

/// Writes `part` as a whole document, with a final newline.
pub fn write(out: &mut dyn Write, part: Part) -> io::Result<()> {
    write_part(out, part, 0)?;
    out.write_all(b"\n")
}

fn write_part(out: &mut dyn Write, part: Part, depth: usize) -> io::Result<()> {
    match part {
        Part::Value(value) => {
            let text = serde_json::to_string_pretty(&value).expect("JSON values always serialize");
            out.write_all(text.replace('\n', &format!("\n{}", indent(depth))).as_bytes())
        }
        Part::Items(items) => sequence(out, b"[", b"]", items.map(Part::Value), depth),
        Part::Array(parts) => sequence(out, b"[", b"]", parts.into_iter(), depth),
        Part::Object(fields) => {
            if fields.is_empty() {
                return out.write_all(b"{}");
            }
            for (n, (key, part)) in fields.into_iter().enumerate() {
                out.write_all(if n == 0 { b"{\n" } else { b",\n" })?;
                write!(out, "{}{}: ", indent(depth + 1), Value::from(key))?;
                write_part(out, part, depth + 1)?;
            }
            write!(out, "\n{}}}", indent(depth))
        }
    }
}

fn sequence<'a>(
    out: &mut dyn Write,
    open: &[u8],
    close: &[u8],
    parts: impl Iterator<Item = Part<'a>>,
    depth: usize,
) -> io::Result<()> {
    out.write_all(open)?;
    let mut any = false;
    for part in parts {
        out.write_all(if any { b",\n" } else { b"\n" })?;
        any = true;
        out.write_all(indent(depth + 1).as_bytes())?;
        write_part(out, part, depth + 1)?;
    }
    if any {
        write!(out, "\n{}", indent(depth))?;
    }
    out.write_all(close)
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn streamed_documents_are_byte_identical_to_serde_json() {
        let items = vec![json!({"a": [1, 2, {"b": "x\ny"}], "c": {}}), json!([]), json!("s")];
        let whole = json!({
            "empty": [],
            "items": items,
            "nested": [{ "inner": items, "none": [] }],
            "z": { "k": 1 },
        });
        let mut streamed = Vec::new();
        let part = Part::Object(vec![
            ("empty", Part::Items(Box::new(std::iter::empty()))),
            ("items", Part::Items(Box::new(items.clone().into_iter()))),
            (
                "nested",
                Part::Array(vec![Part::Object(vec![
                    ("inner", Part::Items(Box::new(items.clone().into_iter()))),
                    ("none", Part::Array(Vec::new())),
                ])]),
            ),
            ("z", Part::Value(json!({ "k": 1 }))),
        ]);
        write(&mut streamed, part).unwrap();
        let expected = serde_json::to_string_pretty(&whole).unwrap() + "\n";
        assert_eq!(String::from_utf8(streamed).unwrap(), expected);
    }
}
