//! The tokens of SurrealQL, read one at a time where the parser asks.
//!
//! Literals (strings, prefixed strings, numbers, durations) are read by
//! `ssp-core`'s literal parser, so that a query reads them exactly as
//! [`Value`]'s `FromStr` does.

use smol_str::SmolStr;
use ssp_core::Value;

use super::error::{PResult, ParseError, ParseErrorKind};
use crate::ast::{BinaryOp, Span};

/// A punctuation or operator token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Punct {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Semi,
    Dot,
    DotDot,
    DotDotDot,
    Colon,
    ColonColon,
    Star,
    Slash,
    Plus,
    Minus,
    Bang,
    Ne,
    Eq,
    EqEq,
    Lt,
    Le,
    Gt,
    Ge,
    /// `->`
    Arrow,
    /// `<-`
    LArrow,
    /// `<->`
    BothArrow,
    AndAnd,
    OrOr,
    Question,
    Dollar,
    /// An operator written as a symbol: `∋`, `∈`, `×`, `÷`, ...
    Sym(BinaryOp),
    /// A token of SurrealQL that the subset has no use for: `%`, `**`, `??`, `@`, `|`, ...
    Other(&'static str),
}

/// What a token is.
#[derive(Clone, Debug)]
pub(super) enum Tok {
    /// A plain identifier or keyword: `name`, `SELECT`, `and`.
    Ident(SmolStr),
    /// An identifier in backticks or `⟨⟩`, never a keyword.
    Quoted(SmolStr),
    /// `$name`.
    Param(SmolStr),
    /// A string, number, duration or prefixed literal (`d'…'`, `u'…'`, `r'…'`, `b"…"`).
    Literal(Value),
    Punct(Punct),
    /// A character that starts no token.
    Unknown,
    Eof,
}

/// A token and where it is.
#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Token {
    pub(super) fn span(&self) -> Span {
        Span::new(self.start, self.end)
    }

    pub(super) fn is_punct(&self, p: Punct) -> bool {
        matches!(self.tok, Tok::Punct(q) if q == p)
    }

    /// Whether the token is the unquoted keyword `kw` (any case).
    pub(super) fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }
}

/// Whether `c` continues a plain identifier.
pub(super) fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first character of `s` at byte `at`, if any.
pub(super) fn char_at(s: &str, at: usize) -> Option<char> {
    s.get(at..).and_then(|r| r.chars().next())
}

/// The position after whitespace and comments (`-- …`, `// …`, `# …`, `/* … */`) from `pos`.
pub(super) fn skip_trivia(src: &str, mut pos: usize) -> PResult<usize> {
    loop {
        let rest = src.get(pos..).unwrap_or("");
        let Some(c) = rest.chars().next() else { return Ok(pos) };
        if c.is_whitespace() {
            pos += c.len_utf8();
        } else if rest.starts_with("--") || rest.starts_with("//") || c == '#' {
            pos += rest.find('\n').unwrap_or(rest.len());
        } else if let Some(body) = rest.strip_prefix("/*") {
            match body.find("*/") {
                Some(i) => pos += i + 4,
                None => {
                    let span = Span::new(pos, src.len());
                    return Err(ParseError::new(ParseErrorKind::Unterminated { what: "comment" }, span));
                }
            }
        } else {
            return Ok(pos);
        }
    }
}

/// The token that starts at or after `pos` (after trivia).
pub(super) fn lex(src: &str, pos: usize) -> PResult<Token> {
    let start = skip_trivia(src, pos)?;
    let rest = src.get(start..).unwrap_or("");
    let mut chars = rest.chars();
    let Some(c) = chars.next() else { return Ok(Token { tok: Tok::Eof, start, end: start }) };
    let second = chars.next();
    let punct = |p: Punct, len: usize| Ok(Token { tok: Tok::Punct(p), start, end: start + len });
    let other = |s: &'static str| Ok(Token { tok: Tok::Punct(Punct::Other(s)), start, end: start + s.len() });
    let sym = |op: BinaryOp| Ok(Token { tok: Tok::Punct(Punct::Sym(op)), start, end: start + c.len_utf8() });
    match c {
        '(' => punct(Punct::LParen, 1),
        ')' => punct(Punct::RParen, 1),
        '[' => punct(Punct::LBracket, 1),
        ']' => punct(Punct::RBracket, 1),
        '{' => punct(Punct::LBrace, 1),
        '}' => punct(Punct::RBrace, 1),
        ',' => punct(Punct::Comma, 1),
        ';' => punct(Punct::Semi, 1),
        '.' if rest.starts_with("...") => punct(Punct::DotDotDot, 3),
        '.' if rest.starts_with("..") => punct(Punct::DotDot, 2),
        '.' => punct(Punct::Dot, 1),
        ':' if second == Some(':') => punct(Punct::ColonColon, 2),
        ':' => punct(Punct::Colon, 1),
        '*' => match second {
            Some('*') => other("**"),
            Some('=') => other("*="),
            Some('~') => other("*~"),
            _ => punct(Punct::Star, 1),
        },
        '/' => punct(Punct::Slash, 1),
        '+' => match second {
            Some('=') => other("+="),
            Some('?') if rest.starts_with("+?=") => other("+?="),
            _ => punct(Punct::Plus, 1),
        },
        '-' => match second {
            Some('>') => punct(Punct::Arrow, 2),
            Some('=') => other("-="),
            _ => punct(Punct::Minus, 1),
        },
        '!' => match second {
            Some('=') => punct(Punct::Ne, 2),
            Some('~') => other("!~"),
            _ => punct(Punct::Bang, 1),
        },
        '=' if second == Some('=') => punct(Punct::EqEq, 2),
        '=' => punct(Punct::Eq, 1),
        '<' => match second {
            Some('=') => punct(Punct::Le, 2),
            Some('|') => other("<|"),
            Some('~') => other("<~"),
            Some('-') if rest.starts_with("<->") => punct(Punct::BothArrow, 3),
            Some('-') => punct(Punct::LArrow, 2),
            _ => punct(Punct::Lt, 1),
        },
        '>' if second == Some('=') => punct(Punct::Ge, 2),
        '>' => punct(Punct::Gt, 1),
        '&' if second == Some('&') => punct(Punct::AndAnd, 2),
        '|' if second == Some('|') => punct(Punct::OrOr, 2),
        '|' => other("|"),
        '?' => match second {
            Some('?') => other("??"),
            Some(':') => other("?:"),
            Some('=') => other("?="),
            Some('~') => other("?~"),
            _ => punct(Punct::Question, 1),
        },
        '%' => other("%"),
        '@' => other("@"),
        '~' => other("~"),
        '∋' => sym(BinaryOp::Contains),
        '∌' => sym(BinaryOp::ContainsNot),
        '∈' => sym(BinaryOp::Inside),
        '∉' => sym(BinaryOp::NotInside),
        '⊇' => sym(BinaryOp::ContainsAll),
        '⊃' => sym(BinaryOp::ContainsAny),
        '⊅' => sym(BinaryOp::ContainsNone),
        '⊆' => sym(BinaryOp::AllInside),
        '⊂' => sym(BinaryOp::AnyInside),
        '⊄' => sym(BinaryOp::NoneInside),
        '×' => sym(BinaryOp::Mul),
        '÷' => sym(BinaryOp::Div),
        '$' => param(src, start),
        '`' | '⟨' => {
            let (name, end) = quoted(src, start + c.len_utf8(), if c == '`' { '`' } else { '⟩' }, start)?;
            Ok(Token { tok: Tok::Quoted(name), start, end })
        }
        '\'' | '"' => literal(src, start),
        's' | 'd' | 'u' | 'r' | 'b' if matches!(second, Some('\'' | '"')) => literal(src, start),
        '0'..='9' => number(src, start),
        c if c.is_ascii_alphabetic() || c == '_' => {
            let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            Ok(Token { tok: Tok::Ident(SmolStr::new(&rest[..len])), start, end: start + len })
        }
        c => Ok(Token { tok: Tok::Unknown, start, end: start + c.len_utf8() }),
    }
}

/// `$name`, `` $`name` `` or `$⟨name⟩` (a lone `$` otherwise).
fn param(src: &str, start: usize) -> PResult<Token> {
    let after = start + 1;
    let rest = src.get(after..).unwrap_or("");
    match rest.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {
            let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            Ok(Token { tok: Tok::Param(SmolStr::new(&rest[..len])), start, end: after + len })
        }
        Some(q @ ('`' | '⟨')) => {
            let (name, end) = quoted(src, after + q.len_utf8(), if q == '`' { '`' } else { '⟩' }, start)?;
            Ok(Token { tok: Tok::Param(name), start, end })
        }
        _ => Ok(Token { tok: Tok::Punct(Punct::Dollar), start, end: after }),
    }
}

/// The body of a quoted identifier from `pos` (after the opening quote) to
/// `close`, with escapes resolved; and the position after `close`.
fn quoted(src: &str, pos: usize, close: char, open_at: usize) -> PResult<(SmolStr, usize)> {
    let rest = src.get(pos..).unwrap_or("");
    let mut out = String::new();
    let mut chars = rest.char_indices();
    let bad_escape = |at: usize, found: Option<char>| {
        let found = found.map_or_else(|| "the end of the query".to_owned(), |c| format!("`{c}`"));
        let expected = "a valid escape sequence".into();
        ParseError::new(ParseErrorKind::InvalidLiteral { expected, found }, Span::new(pos + at, pos + at + 1))
    };
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == close => return Ok((out.into(), pos + i + c.len_utf8())),
            '\\' => {
                let esc = chars.next();
                let c = match esc.map(|(_, c)| c) {
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('t') => '\t',
                    Some('0') => '\0',
                    Some('f') => '\x0C',
                    Some('b') => '\x08',
                    Some('u') => {
                        let (c, len) =
                            unicode_escape(rest.get(i + 2..).unwrap_or("")).ok_or_else(|| bad_escape(i, Some('u')))?;
                        for _ in 0..len {
                            chars.next();
                        }
                        c
                    }
                    Some(c @ ('\\' | '\'' | '"' | '`' | '/' | '⟩')) => c,
                    other => return Err(bad_escape(i, other)),
                };
                out.push(c);
            }
            c => out.push(c),
        }
    }
    Err(ParseError::new(ParseErrorKind::Unterminated { what: "identifier" }, Span::new(open_at, src.len())))
}

/// `{1F600}` or `00e9` after `\u`: the character and the bytes it used.
fn unicode_escape(s: &str) -> Option<(char, usize)> {
    let (hex, len) = if let Some(body) = s.strip_prefix('{') {
        let close = body.find('}')?;
        (&body[..close], close + 2)
    } else {
        (s.get(..4)?, 4)
    };
    if hex.is_empty() || hex.len() > 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)?;
    Some((c, len))
}

/// A string or prefixed literal at `start`, read by `ssp-core`.
fn literal(src: &str, start: usize) -> PResult<Token> {
    let (value, used) =
        Value::parse_prefix(src.get(start..).unwrap_or("")).map_err(|e| literal_error(src, start, e))?;
    Ok(Token { tok: Tok::Literal(value), start, end: start + used })
}

/// A number or duration at `start`, which must not run into an identifier (`5abc`).
fn number(src: &str, start: usize) -> PResult<Token> {
    let token = literal(src, start)?;
    if char_at(src, token.end).is_some_and(is_ident_char) {
        return Err(bad_number_suffix(src, start, token.end));
    }
    Ok(token)
}

/// The error for a number that runs into letters, such as `5abc` or `1e`.
pub(super) fn bad_number_suffix(src: &str, start: usize, at: usize) -> ParseError {
    let rest = src.get(at..).unwrap_or("");
    let end = at + rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
    let found = format!("`{}`", src.get(start..end).unwrap_or(""));
    let expected = "a number or a duration (such as `5`, `1.5f`, `2dec`, `1h30m`)".into();
    ParseError::new(ParseErrorKind::InvalidLiteral { expected, found }, Span::new(start, end))
}

/// An error of `ssp-core`'s literal parser, reading from `start`, as a query error.
pub(super) fn literal_error(src: &str, start: usize, e: ssp_core::ParseError) -> ParseError {
    let at = start + e.position;
    if e.found.is_none() && e.expected.starts_with("a closing") {
        return ParseError::new(ParseErrorKind::Unterminated { what: "string" }, Span::new(start, src.len()));
    }
    if e.expected.starts_with("nesting no deeper") {
        let end = at + e.found.map_or(0, char::len_utf8);
        return ParseError::new(ParseErrorKind::TooDeep { limit: super::MAX_DEPTH }, Span::new(at, end));
    }
    let end = at + e.found.map_or(0, char::len_utf8);
    let found = e.found.map_or_else(|| "the end of the query".to_owned(), |c| format!("`{c}`"));
    ParseError::new(ParseErrorKind::InvalidLiteral { expected: e.expected, found }, Span::new(at, end))
}
