//! A parser for SurrealQL value literals and record ids.
//!
//! It reads what [`Value`]'s `Display` writes (and the common spellings
//! SurrealDB accepts besides): `NONE`, `NULL`, booleans, numbers with their
//! `f`/`dec` suffixes, strings (`'..'`, `".."`, `s'..'`), durations, `d'..'`,
//! `u'..'`, `r'..'`, `b".."`, arrays, sets, objects, record ids and points.

use std::str::FromStr;

use rust_decimal::Decimal;
use smol_str::SmolStr;

use super::{Array, Datetime, Duration, Geometry, Number, Object, Point, Set, Value};
use crate::error::ParseError;
use crate::{RecordId, RecordKey};

/// Nesting deeper than this is refused, so that hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

/// A cursor over SurrealQL text.
pub(crate) struct Parser<'a> {
    input: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a str) -> Self {
        Parser { input, pos: 0, depth: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub(crate) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, c: char) -> Result<(), ParseError> {
        if self.eat(c) { Ok(()) } else { Err(self.error(format!("`{c}`"))) }
    }

    pub(crate) fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if !pred(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        &self.input[start..self.pos]
    }

    fn skip_ws(&mut self) {
        self.take_while(char::is_whitespace);
    }

    pub(crate) fn error(&self, expected: impl Into<std::borrow::Cow<'static, str>>) -> ParseError {
        ParseError::new(self.input, self.pos, expected)
    }

    pub(crate) fn error_at(&self, at: usize, expected: impl Into<std::borrow::Cow<'static, str>>) -> ParseError {
        ParseError::new(self.input, at, expected)
    }

    /// Fails unless the whole input was read.
    pub(crate) fn finish(&mut self) -> Result<(), ParseError> {
        if self.at_end() { Ok(()) } else { Err(self.error("the end of the input")) }
    }

    fn descend(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nesting no deeper than 128 levels"));
        }
        Ok(())
    }

    /// An identifier: plain (`name`), in backticks (`` `a b` ``) or in angle
    /// brackets (`⟨a b⟩`).
    pub(crate) fn ident(&mut self, expected: &'static str) -> Result<SmolStr, ParseError> {
        match self.peek() {
            Some('`') => {
                self.bump();
                self.quoted_body('`')
            }
            Some('⟨') => {
                self.bump();
                self.quoted_body('⟩')
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                Ok(self.take_while(|c| c.is_ascii_alphanumeric() || c == '_').into())
            }
            _ => Err(self.error(expected)),
        }
    }

    /// The body of a quoted string or identifier, after its opening quote, up to
    /// and including the closing `quote`, with escapes resolved.
    fn quoted_body(&mut self, quote: char) -> Result<SmolStr, ParseError> {
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.bump() {
                None => return Err(self.error(format!("a closing `{quote}`"))),
                Some(c) if c == quote => return Ok(out.into()),
                Some('\\') => {
                    let c = match self.bump() {
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some('0') => '\0',
                        Some('f') => '\x0C',
                        Some('b') => '\x08',
                        Some('u') => self.unicode_escape(at)?,
                        Some(c @ ('\\' | '\'' | '"' | '`' | '/' | '⟩')) => c,
                        _ => return Err(self.error_at(at, "a valid escape sequence")),
                    };
                    out.push(c);
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// `\u{1F600}` or `\u00e9`, after the `u`.
    fn unicode_escape(&mut self, at: usize) -> Result<char, ParseError> {
        let hex = if self.eat('{') {
            let hex = self.take_while(|c| c.is_ascii_hexdigit());
            self.expect('}')?;
            hex
        } else {
            let start = self.pos;
            for _ in 0..4 {
                match self.peek() {
                    Some(c) if c.is_ascii_hexdigit() => {
                        self.bump();
                    }
                    _ => return Err(self.error("four hex digits")),
                }
            }
            &self.input[start..self.pos]
        };
        u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.error_at(at, "a valid unicode escape"))
    }

    fn string_literal(&mut self) -> Result<SmolStr, ParseError> {
        match self.bump() {
            Some(q @ ('\'' | '"')) => self.quoted_body(q),
            _ => Err(self.error_at(self.pos.saturating_sub(1), "a quoted string")),
        }
    }

    /// Parses the text of a prefixed string (`d'..'`) with `parse`, reporting
    /// errors at their place in the whole input.
    fn prefixed<T>(&mut self, parse: impl Fn(&str) -> Result<T, ParseError>) -> Result<T, ParseError> {
        let quote_at = self.pos;
        let text = self.string_literal()?;
        // Escapes make offsets inside the body inexact; point at the quote then.
        let body_start = quote_at + 1;
        parse(&text).map_err(|e| {
            if self.input.get(body_start..body_start + text.len()) == Some(text.as_str()) {
                let columns = self.input[..body_start].chars().count();
                e.shifted(body_start, columns)
            } else {
                self.error_at(quote_at, e.expected)
            }
        })
    }

    /// A value literal, with surrounding whitespace.
    pub(crate) fn value(&mut self) -> Result<Value, ParseError> {
        self.skip_ws();
        let v = self.value_inner()?;
        self.skip_ws();
        Ok(v)
    }

    fn value_inner(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        let c = self.peek().ok_or_else(|| self.error("a value"))?;
        match c {
            '[' => {
                self.descend()?;
                self.bump();
                let items = self.comma_list(']')?;
                self.depth -= 1;
                Ok(Value::Array(Array::from(items)))
            }
            '{' => {
                self.descend()?;
                let v = self.brace()?;
                self.depth -= 1;
                Ok(v)
            }
            '(' => self.point(),
            '\'' | '"' => Ok(Value::String(self.string_literal()?)),
            '-' | '+' | '0'..='9' => self.number_or_duration(),
            _ if self.peek_second().is_some_and(|q| q == '\'' || q == '"') && "sdurb".contains(c) => {
                self.bump();
                match c {
                    's' => Ok(Value::String(self.string_literal()?)),
                    'd' => Ok(Value::Datetime(self.prefixed(Datetime::from_str)?)),
                    'u' => Ok(Value::Uuid(self.prefixed(parse_uuid)?)),
                    'r' => Ok(Value::from(self.prefixed(RecordId::from_str)?)),
                    _ => self.bytes(),
                }
            }
            _ => {
                let word = self.ident("a value")?;
                if self.peek() == Some(':') {
                    self.pos = start;
                    return Ok(Value::from(self.record_id()?));
                }
                match word.to_ascii_uppercase().as_str() {
                    "NONE" => Ok(Value::None),
                    "NULL" => Ok(Value::Null),
                    "TRUE" => Ok(Value::Bool(true)),
                    "FALSE" => Ok(Value::Bool(false)),
                    "NAN" => Ok(Value::from(f64::NAN)),
                    "INFINITY" => Ok(Value::from(f64::INFINITY)),
                    _ => Err(self.error_at(start, "a value")),
                }
            }
        }
    }

    /// Values separated by commas up to `close` (a trailing comma is allowed).
    fn comma_list(&mut self, close: char) -> Result<Vec<Value>, ParseError> {
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.value()?);
            if !self.eat(',') {
                self.skip_ws();
                if self.eat(close) {
                    return Ok(items);
                }
                return Err(self.error(format!("`,` or `{close}`")));
            }
        }
    }

    /// An object `{ a: 1 }`, an empty object `{}`, or a set `{1, 2}` / `{1,}` / `{,}`.
    fn brace(&mut self) -> Result<Value, ParseError> {
        self.expect('{')?;
        self.skip_ws();
        if self.eat('}') {
            return Ok(Value::Object(Object::new()));
        }
        if self.eat(',') {
            self.skip_ws();
            self.expect('}')?;
            return Ok(Value::Set(Set::new()));
        }
        // An object if a key and `:` come first, as SurrealDB reads `{a:1}`;
        // else a set. (A set whose first element is a record id prints it as
        // `r'…'`, so that it does not read back as an object.)
        let save = self.pos;
        let bare = self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        let is_object = match self.object_key() {
            Err(_) => false,
            Ok(key) => {
                // `d'…'`, `u'…'` and the like are prefixed literals, not names.
                let prefixed = bare && self.peek().is_some_and(|c| c == '\'' || c == '"');
                self.skip_ws();
                // A bare name that is no value keyword can only start an
                // object, so a missing `:` is reported as such.
                let keyword =
                    ["NONE", "NULL", "TRUE", "FALSE", "NAN", "INFINITY"].contains(&key.to_ascii_uppercase().as_str());
                let name_only = bare && !keyword && !prefixed && !key.starts_with(|c: char| c.is_ascii_digit());
                self.peek() == Some(':') || name_only
            }
        };
        self.pos = save;
        if !is_object {
            let items = self.comma_list('}')?;
            return Ok(Value::Set(items.into_iter().collect()));
        }
        let mut fields = Vec::new();
        loop {
            self.skip_ws();
            if self.eat('}') {
                return Ok(object_or_geometry(fields));
            }
            let key = self.object_key()?;
            self.skip_ws();
            self.expect(':')?;
            let value = self.value()?;
            fields.push((key, value));
            if !self.eat(',') {
                self.skip_ws();
                self.expect('}')?;
                return Ok(object_or_geometry(fields));
            }
        }
    }

    fn object_key(&mut self) -> Result<SmolStr, ParseError> {
        match self.peek() {
            Some('\'' | '"') => self.string_literal(),
            _ => self.ident("a field name"),
        }
    }

    /// `(x, y)`: a point.
    fn point(&mut self) -> Result<Value, ParseError> {
        self.descend()?;
        self.expect('(')?;
        let x = self.coordinate()?;
        self.expect(',')?;
        let y = self.coordinate()?;
        self.expect(')')?;
        self.depth -= 1;
        Ok(Value::from(Geometry::Point(Point::new(x, y))))
    }

    fn coordinate(&mut self) -> Result<f64, ParseError> {
        let at = self.pos;
        match self.value()? {
            Value::Number(n) => Ok(n.to_f64()),
            _ => Err(self.error_at(at, "a number")),
        }
    }

    /// `b"00FF"`, after the `b`.
    fn bytes(&mut self) -> Result<Value, ParseError> {
        let at = self.pos + 1;
        let hex = self.string_literal()?;
        let bytes = decode_hex(&hex).map_err(|bad| self.error_at(at + bad, "pairs of hex digits"))?;
        Ok(Value::Bytes(bytes.into()))
    }

    fn number_or_duration(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        let negative = self.eat('-');
        if !negative {
            self.eat('+');
        }
        if self.eat_str("Infinity") {
            return Ok(Value::from(if negative { f64::NEG_INFINITY } else { f64::INFINITY }));
        }
        let int_digits = self.take_while(|c| c.is_ascii_digit() || c == '_');
        if !int_digits.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(self.error("a digit"));
        }
        // A duration: digits directly followed by a unit (but not `dec`, `e` or `f`).
        if !negative && !self.rest().starts_with("dec") && self.peek().is_some_and(|c| "nuµmshdwy".contains(c)) {
            self.pos = start;
            let text = self.take_while(|c| c.is_ascii_alphanumeric() || c == 'µ');
            return text
                .parse::<Duration>()
                .map(Value::Duration)
                .map_err(|e| e.shifted(start, self.input[..start].chars().count()));
        }
        let mut is_float = false;
        if self.peek() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            self.take_while(|c| c.is_ascii_digit() || c == '_');
            is_float = true;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.bump();
            if !self.eat('-') {
                self.eat('+');
            }
            if self.take_while(|c| c.is_ascii_digit()).is_empty() {
                self.pos = save;
            } else {
                is_float = true;
            }
        }
        let text: String = self.input[start..self.pos].chars().filter(|&c| c != '_' && c != '+').collect();
        if self.eat_str("dec") {
            let d = Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map_err(|_| self.error_at(start, "a decimal that fits in 128 bits"))?;
            // SurrealDB keeps a decimal literal without trailing zeros.
            return Ok(Value::Number(Number::Decimal(d.normalize())));
        }
        if self.eat('f') || is_float {
            let f = f64::from_str(&text).map_err(|_| self.error_at(start, "a float"))?;
            return Ok(Value::Number(Number::Float(f)));
        }
        text.parse::<i64>()
            .map(|i| Value::Number(Number::Int(i)))
            .map_err(|_| self.error_at(start, "an integer that fits in 64 bits"))
    }

    /// `table:key`.
    pub(crate) fn record_id(&mut self) -> Result<RecordId, ParseError> {
        let table = self.ident("a table name")?;
        self.expect(':')?;
        let key = self.record_key()?;
        Ok(RecordId::new(table, key))
    }

    fn record_key(&mut self) -> Result<RecordKey, ParseError> {
        let start = self.pos;
        match self.peek() {
            Some('[') => match self.value_inner()? {
                Value::Array(a) => Ok(RecordKey::Array(a)),
                _ => Err(self.error_at(start, "an array key")),
            },
            Some('{') => match self.value_inner()? {
                Value::Object(o) => Ok(RecordKey::Object(o)),
                _ => Err(self.error_at(start, "an object key")),
            },
            Some('u') if matches!(self.peek_second(), Some('\'' | '"')) => {
                self.bump();
                Ok(RecordKey::Uuid(self.prefixed(parse_uuid)?))
            }
            Some('`' | '⟨') => Ok(RecordKey::String(self.ident("a record key")?)),
            Some('-') => {
                self.bump();
                let digits = self.take_while(|c| c.is_ascii_digit());
                if digits.is_empty() {
                    return Err(self.error("a digit"));
                }
                self.input[start..self.pos]
                    .parse()
                    .map(RecordKey::Int)
                    .map_err(|_| self.error_at(start, "an integer key that fits in 64 bits"))
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
                let numeric =
                    word.bytes().all(|b| b.is_ascii_digit() || b == b'_') && word.bytes().any(|b| b.is_ascii_digit());
                if numeric {
                    let digits: String = word.chars().filter(|&c| c != '_').collect();
                    digits
                        .parse()
                        .map(RecordKey::Int)
                        .map_err(|_| self.error_at(start, "an integer key that fits in 64 bits"))
                } else {
                    Ok(RecordKey::String(word.into()))
                }
            }
            _ => Err(self.error("a record key")),
        }
    }
}

/// Decodes pairs of hex digits; on failure, the byte offset of the bad pair.
/// An object literal, or the geometry it spells: as SurrealDB reads literals,
/// an object of exactly `type` and `coordinates` (or `geometries`) in GeoJSON
/// form is a geometry.
fn object_or_geometry(fields: Vec<(SmolStr, Value)>) -> Value {
    let object = Value::Object(fields.into_iter().collect());
    let two = matches!(&object, Value::Object(o) if o.len() == 2);
    match two.then(|| crate::value::json::geometry_from_value(&object)).flatten() {
        Some(g) => Value::Geometry(std::sync::Arc::new(g)),
        None => object,
    }
}

pub(crate) fn decode_hex(hex: &str) -> Result<Vec<u8>, usize> {
    let digits = hex.as_bytes();
    let mut out = Vec::with_capacity(digits.len() / 2);
    for (i, pair) in digits.chunks(2).enumerate() {
        let byte = match pair {
            [hi, lo] => (*hi as char).to_digit(16).zip((*lo as char).to_digit(16)).map(|(h, l)| (h * 16 + l) as u8),
            _ => None,
        };
        out.push(byte.ok_or(2 * i)?);
    }
    Ok(out)
}

fn parse_uuid(s: &str) -> Result<uuid::Uuid, ParseError> {
    uuid::Uuid::try_parse(s).map_err(|_| {
        let at = s.char_indices().find(|(_, c)| !(c.is_ascii_hexdigit() || *c == '-')).map_or(0, |(i, _)| i);
        ParseError::new(s, at, "a UUID such as 0190b3d4-7e2f-7c4e-8b52-6a1f0e3d9c21")
    })
}

impl Value {
    /// Parses one value literal at the very start of `input` and returns it
    /// with the number of bytes it used; the rest of `input` is left unread.
    ///
    /// No whitespace is skipped before the literal, nor after it. This lets a
    /// larger parser (such as `ssp-planner`'s query parser) read the literals
    /// of a SurrealQL statement exactly as [`str::parse`] reads a lone value.
    ///
    /// ```
    /// use ssp_core::Value;
    /// let (v, used) = Value::parse_prefix("'a b' AND x")?;
    /// assert_eq!((v, used), (Value::from("a b"), 5));
    /// let (v, used) = Value::parse_prefix("1h30m)")?;
    /// assert_eq!((v.to_string(), used), ("1h30m".to_owned(), 5));
    /// assert!(Value::parse_prefix(" 1").is_err()); // no leading whitespace
    /// # Ok::<(), ssp_core::ParseError>(())
    /// ```
    pub fn parse_prefix(input: &str) -> Result<(Value, usize), ParseError> {
        let mut p = Parser::new(input);
        let v = p.value_inner()?;
        Ok((v, p.pos()))
    }
}

impl RecordId {
    /// Parses one record id (`table:key`) at the very start of `input` and
    /// returns it with the number of bytes it used; the rest of `input` is
    /// left unread. No whitespace is skipped.
    ///
    /// ```
    /// use ssp_core::RecordId;
    /// let (id, used) = RecordId::parse_prefix("user:⟨a b⟩->wrote")?;
    /// assert_eq!((id.to_string(), used), ("user:`a b`".to_owned(), "user:⟨a b⟩".len()));
    /// # Ok::<(), ssp_core::ParseError>(())
    /// ```
    pub fn parse_prefix(input: &str) -> Result<(RecordId, usize), ParseError> {
        let mut p = Parser::new(input);
        let id = p.record_id()?;
        Ok((id, p.pos()))
    }
}

impl FromStr for Value {
    type Err = ParseError;

    /// Parses a SurrealQL value literal, such as `{ a: [1, 2.5f, 'x'], b: person:tobie }`.
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let mut p = Parser::new(s);
        let v = p.value()?;
        p.finish()?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_stop_where_the_literal_ends() {
        let cases: [(&str, &str); 9] = [
            ("'it''s", "'it'"),
            ("\"q\\\"\" rest", "\"q\\\"\""),
            ("-12 + 3", "-12"),
            ("1.5f)", "1.5f"),
            ("3dec,", "3dec"),
            ("1..3", "1"),
            ("d'2024-01-02T03:04:05Z' x", "d'2024-01-02T03:04:05Z'"),
            ("[1, [2]] ]", "[1, [2]]"),
            ("(1, 2) = p", "(1, 2)"),
        ];
        for (input, literal) in cases {
            let (v, used) = Value::parse_prefix(input).unwrap();
            assert_eq!(&input[..used], literal, "{input:?}");
            assert_eq!(v, literal.parse::<Value>().unwrap(), "{input:?}");
        }
    }

    #[test]
    fn prefix_errors_are_at_their_place() {
        let err = Value::parse_prefix("'open").unwrap_err();
        assert_eq!((err.position, err.found), (5, None));
        let err = Value::parse_prefix("u'nope' x").unwrap_err();
        assert_eq!(err.position, 2);
        assert!(Value::parse_prefix("name").is_err());
    }

    #[test]
    fn record_id_prefixes() {
        let (id, used) = RecordId::parse_prefix("t:[1, 'a'] AND").unwrap();
        assert_eq!((id.to_string().as_str(), used), ("t:[1, 'a']", 10));
        let (id, used) = RecordId::parse_prefix("`a b`:`x`.y").unwrap();
        assert_eq!((id, used), (RecordId::new("a b", "x"), 9));
        assert_eq!(RecordId::parse_prefix("t: 1").unwrap_err().position, 2);
    }
}
