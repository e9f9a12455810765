//! The field path at a position in JSON text, for syntax and type errors.
//!
//! serde_json reports where in the text it stopped (line and column). Walking the text up to that
//! point with a small scanner recovers the field being read — `backends[1].port` — without
//! wrapping the scenario deserialiser in a path-tracking one, which would double its code in the
//! browser bundle (BENCHMARKS.md, "Release bundle").

/// One open container on the way to the position.
enum Frame {
    /// An object, with the key whose value is being read (none between members).
    Object(Option<String>),
    /// An array, with the index of the element being read.
    Array(usize),
}

/// The byte offset of serde_json's 1-based `line` and its `column` (bytes read on that line).
pub(crate) fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + column).min(text.len())
}

/// The path of the value being read when a parser has read `text[..end]`, such as
/// `backends[1].port`; empty at the top level. An error reported on a closing brace (a missing
/// field) names the object the brace closes.
pub(crate) fn path_at(text: &str, end: usize) -> String {
    let bytes = &text.as_bytes()[..end.min(text.len())];
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' => stack.push(Frame::Object(None)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(index)) => *index += 1,
                Some(Frame::Object(key)) => *key = None,
                None => {}
            },
            b'"' => {
                let start = i + 1;
                i = start;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if let Some(Frame::Object(key @ None)) = stack.last_mut() {
                    let raw = &bytes[start..i.min(bytes.len())];
                    *key = Some(String::from_utf8_lossy(raw).into_owned());
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for frame in &stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Object(None) => {}
            Frame::Array(index) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str, marker: &str) -> String {
        let end = text.find(marker).expect("marker in text") + marker.len();
        path_at(text, end)
    }

    #[test]
    fn paths_name_keys_and_indices() {
        let text = r#"{"a": [{"b": 1}, {"c": {"d": "x,]}"}}], "e": 2}"#;
        assert_eq!(at(text, r#""b": 1"#), "a[0].b");
        assert_eq!(at(text, r#""x,]}""#), "a[1].c.d");
        assert_eq!(at(text, r#""e": 2"#), "e");
        assert_eq!(at(text, r#"{"a": ["#), "a[0]");
        assert_eq!(path_at(text, 0), "");
    }

    #[test]
    fn a_closing_brace_names_the_object_it_closes() {
        let text = r#"{"x": [{"name": "A"}, {}]}"#;
        assert_eq!(at(text, r#""A"}"#), "x[0]");
        assert_eq!(at(text, r#"{}"#), "x[1]");
        assert_eq!(at(text, r#"{}]"#), "x");
    }

    #[test]
    fn escaped_quotes_do_not_end_keys() {
        let text = r#"{"k\"ey": {"in": 1}}"#;
        assert_eq!(at(text, r#""in": 1"#), r#"k\"ey.in"#);
    }

    #[test]
    fn offsets_follow_lines_and_columns() {
        let text = "{\n  \"a\": 1,\n  \"b\": x\n}";
        assert_eq!(offset_of(text, 1, 1), 1);
        assert_eq!(&text[..offset_of(text, 3, 7)], "{\n  \"a\": 1,\n  \"b\": ");
        assert_eq!(offset_of(text, 9, 9), text.len());
    }
}
