//! Writing the few small JSON texts the widget sends and stores (a
//! decision for the server, an event's detail). Written by hand: serde_json
//! would take up most of the wasm (measured on a test banner: see
//! docs/benchmarks.md, widget bench), and `JSON.stringify`
//! on objects built through `Reflect.set` costs an import per value type
//! plus a call per field.

use alloc::string::String;

/// A JSON object being written, field by field.
pub struct Object(String);

impl Object {
    pub fn new() -> Self {
        Object(String::from("{"))
    }

    fn key(&mut self, k: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        string(&mut self.0, k);
        self.0.push(':');
    }

    pub fn str(mut self, k: &str, v: &str) -> Self {
        self.key(k);
        string(&mut self.0, v);
        self
    }

    pub fn bool(mut self, k: &str, v: bool) -> Self {
        self.key(k);
        self.0.push_str(if v { "true" } else { "false" });
        self
    }

    /// A value that is already JSON.
    pub fn raw(mut self, k: &str, json: &str) -> Self {
        self.key(k);
        self.0.push_str(json);
        self
    }

    pub fn done(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

/// A JSON string literal: quotes, backslashes and control characters
/// escaped (everything else may stay as it is, RFC 8259 §7).
pub fn string(out: &mut String, s: &str) {
    out.push('"');
    // Bytewise (every byte to escape is ASCII, so each run copied between
    // them ends on a char boundary and `get` never fails).
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            out.push_str(s.get(from..i).unwrap_or_default());
            out.push('\\');
            if b < 0x20 {
                out.push_str("u00");
                out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
                out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
            } else {
                out.push(char::from(b));
            }
            from = i + 1;
        }
    }
    out.push_str(s.get(from..).unwrap_or_default());
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse_back_as_written() {
        let text = Object::new()
            .str("a", "say \"hi\"\\\n\u{1}é")
            .bool("b", false)
            .raw("c", &Object::new().bool("x", true).bool("y", false).done())
            .done();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": "say \"hi\"\\\n\u{1}é", "b": false, "c": {"x": true, "y": false}})
        );
        assert_eq!(Object::new().done(), "{}");
    }
}
