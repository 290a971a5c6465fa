//! Field selectors (`metadata.name=web,status.phase!=Running`), matched through
//! [`crate::fields`].

use std::fmt;

use serde_json::Value;

use super::{Result, SelectorError};
use crate::Resource;
use crate::fields;

/// A field selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    /// `=` or `==`
    Equals,
    /// `!=`
    NotEquals,
}

/// One field selector term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldTerm {
    pub field: String,
    pub op: FieldOp,
    pub value: String,
}

/// A field selector: all terms must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    pub terms: Vec<FieldTerm>,
}

impl FieldSelector {
    /// Parse `a=b,c!=d,e==f`. Backslash escapes `\,`, `\=`, `\\` as upstream.
    pub fn parse(s: &str) -> Result<Self> {
        let mut terms = Vec::new();
        for part in split_unescaped(s, ',') {
            if part.is_empty() {
                continue;
            }
            let term = parse_field_term(&part)
                .ok_or_else(|| SelectorError::FieldSyntax(s.to_string(), part.clone()))?;
            terms.push(term);
        }
        Ok(FieldSelector { terms })
    }

    /// Check every term names a field `res` supports.
    pub fn check_supported(&self, res: &Resource) -> Result<()> {
        for t in &self.terms {
            if !fields::supported(res, &t.field) {
                return Err(SelectorError::UnsupportedField(t.field.clone()));
            }
        }
        Ok(())
    }

    /// True when there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Does every term hold for `obj`? Unsupported fields never match.
    pub fn matches(&self, res: &Resource, obj: &Value) -> bool {
        self.terms.iter().all(|t| {
            let Some(v) = fields::field_value(res, obj, &t.field) else {
                return false;
            };
            match t.op {
                FieldOp::Equals => v == t.value,
                FieldOp::NotEquals => v != t.value,
            }
        })
    }

    /// If the selector pins `metadata.name` (e.g. `kubectl get pod x -w`), that name.
    pub fn name(&self) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == "metadata.name" && t.op == FieldOp::Equals)
            .map(|t| t.value.as_str())
    }
}

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .terms
            .iter()
            .map(|t| {
                let op = if t.op == FieldOp::Equals { "=" } else { "!=" };
                format!("{}{op}{}", escape(&t.field), escape(&t.value))
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace('=', "\\=")
}

/// Split on `sep` where it is not escaped by a backslash; escapes are kept for later.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_field_term(part: &str) -> Option<FieldTerm> {
    let chars: Vec<char> = part.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '!' if chars.get(i + 1) == Some(&'=') => {
                return Some(term(&chars[..i], FieldOp::NotEquals, &chars[i + 2..]));
            }
            '=' if chars.get(i + 1) == Some(&'=') => {
                return Some(term(&chars[..i], FieldOp::Equals, &chars[i + 2..]));
            }
            '=' => return Some(term(&chars[..i], FieldOp::Equals, &chars[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

fn term(field: &[char], op: FieldOp, value: &[char]) -> FieldTerm {
    FieldTerm {
        field: unescape(field.iter().collect::<String>().trim()),
        op,
        value: unescape(&value.iter().collect::<String>()),
    }
}
