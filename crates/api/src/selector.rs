//! Label selectors: parse the query string form and match labels.
//!
//! Field selectors live in [`field`] and are re-exported here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

mod field;
mod parse;

pub use field::{FieldOp, FieldSelector, FieldTerm};
use parse::{Parser, Token, lex};

use crate::validation::names;

/// Errors from parsing or building a selector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// Syntax error in a `labelSelector=` query. Upstream's full message is
    /// `unable to parse requirement: <this>`; the REST layer adds the prefix.
    #[error("{0}")]
    Parse(String),
    /// Invalid key or value (message as upstream's validation detail; same prefix rule).
    #[error("{0}")]
    Invalid(String),
    /// Field selector term without an operator.
    #[error("invalid selector: '{0}'; can't understand '{1}'")]
    FieldSyntax(String, String),
    /// Field selector names a field the kind does not index.
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
    /// A matchExpressions entry is malformed.
    #[error("{0}")]
    Expression(String),
}

/// Local result type.
pub type Result<T> = std::result::Result<T, SelectorError>;

/// A label selector operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operator {
    /// `=`
    Equals,
    /// `==`
    DoubleEquals,
    /// `!=`
    NotEquals,
    /// `in (..)`
    In,
    /// `notin (..)`
    NotIn,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>N`
    GreaterThan,
    /// `key<N`
    LessThan,
}

/// One requirement: key, operator, values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Operator,
    pub values: BTreeSet<String>,
}

impl Requirement {
    /// Build and validate a requirement as upstream's `NewRequirement` does.
    pub fn new(key: &str, op: Operator, values: Vec<String>) -> Result<Self> {
        if let Some(msg) = names::qualified_name_error(key) {
            return Err(SelectorError::Invalid(format!(
                "key: Invalid value: \"{key}\": {msg}"
            )));
        }
        let n = values.len();
        match op {
            Operator::In | Operator::NotIn if n == 0 => {
                return Err(SelectorError::Invalid(
                    "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"
                        .into(),
                ));
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if n != 1 => {
                return Err(SelectorError::Invalid(
                    "values: Invalid value: exact-match compatibility requires one single value"
                        .into(),
                ));
            }
            Operator::Exists | Operator::DoesNotExist if n != 0 => {
                return Err(SelectorError::Invalid(
                    "values: Invalid value: values set must be empty for exists and does not exist"
                        .into(),
                ));
            }
            Operator::GreaterThan | Operator::LessThan
                if (n != 1 || values[0].parse::<i64>().is_err()) =>
            {
                return Err(SelectorError::Invalid(
                        "values: Invalid value: for 'Gt', 'Lt' operators, exactly one integer value is required".into(),
                    ));
            }
            _ => {}
        }
        for v in &values {
            if !matches!(op, Operator::GreaterThan | Operator::LessThan)
                && let Some(msg) = names::label_value_error(v)
            {
                return Err(SelectorError::Invalid(format!(
                    "values[0][{key}]: Invalid value: \"{v}\": {msg}"
                )));
            }
        }
        Ok(Requirement {
            key: key.to_string(),
            op,
            values: values.into_iter().collect(),
        })
    }

    /// Does this requirement hold for `labels`?
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        match self.op {
            Operator::Equals | Operator::DoubleEquals | Operator::In => {
                value.is_some_and(|v| self.values.contains(v))
            }
            Operator::NotEquals | Operator::NotIn => {
                !value.is_some_and(|v| self.values.contains(v))
            }
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(have), Some(want)) = (
                    value.and_then(|v| v.parse::<i64>().ok()),
                    self.values
                        .iter()
                        .next()
                        .and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = self.values.iter().next().map(String::as_str).unwrap_or("");
        let joined = self.values.iter().cloned().collect::<Vec<_>>().join(",");
        match self.op {
            Operator::Equals => write!(f, "{}={first}", self.key),
            Operator::DoubleEquals => write!(f, "{}=={first}", self.key),
            Operator::NotEquals => write!(f, "{}!={first}", self.key),
            Operator::In => write!(f, "{} in ({joined})", self.key),
            Operator::NotIn => write!(f, "{} notin ({joined})", self.key),
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::GreaterThan => write!(f, "{}>{first}", self.key),
            Operator::LessThan => write!(f, "{}<{first}", self.key),
        }
    }
}

/// A label selector: all requirements must hold. Empty selects everything; a selector built
/// from an absent (`null`) LabelSelector selects nothing, as upstream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    pub requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// The selector that matches every object.
    pub fn everything() -> Self {
        Self::default()
    }

    /// The selector that matches no object.
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// True when this selector matches every object.
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// Parse the query form: `app=web,tier!=db,env in (a,b),!canary,release`.
    pub fn parse(s: &str) -> Result<Self> {
        let tokens = lex(s)?;
        let mut p = Parser { tokens, pos: 0 };
        let mut requirements = Vec::new();
        if p.peek().is_none() {
            return Ok(Self::everything());
        }
        loop {
            requirements.push(p.requirement()?);
            match p.next() {
                None => break,
                Some(Token::Comma) => {
                    if p.peek().is_none() {
                        return Err(SelectorError::Parse(
                            "found '', expected: identifier after ','".into(),
                        ));
                    }
                }
                Some(t) => {
                    return Err(SelectorError::Parse(format!(
                        "found '{}', expected: ',' or 'end of string'",
                        t.text()
                    )));
                }
            }
        }
        Ok(Self::from_requirements(requirements))
    }

    fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// Build from a `metav1.LabelSelector` object (`matchLabels`, `matchExpressions`).
    /// `null`/absent gives a selector that matches nothing; `{}` matches everything.
    pub fn from_label_selector(value: &Value) -> Result<Self> {
        let obj = match value {
            Value::Null => return Ok(Self::nothing()),
            Value::Object(o) => o,
            _ => {
                return Err(SelectorError::Expression(
                    "selector must be an object".into(),
                ));
            }
        };
        let mut reqs = Vec::new();
        if let Some(ml) = obj.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in ml {
                let v = v.as_str().unwrap_or_default().to_string();
                reqs.push(Requirement::new(k, Operator::Equals, vec![v])?);
            }
        }
        if let Some(exprs) = obj.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
                let op = match e
                    .get("operator")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                {
                    "In" => Operator::In,
                    "NotIn" => Operator::NotIn,
                    "Exists" => Operator::Exists,
                    "DoesNotExist" => Operator::DoesNotExist,
                    other => {
                        return Err(SelectorError::Expression(format!(
                            "\"{other}\" is not a valid label selector operator"
                        )));
                    }
                };
                let values = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                reqs.push(Requirement::new(key, op, values)?);
            }
        }
        Ok(Self::from_requirements(reqs))
    }

    /// Build from a plain map selector (Service, ReplicationController): `{app: web}`.
    pub fn from_map(value: &Value) -> Result<Self> {
        match value {
            Value::Object(o) => {
                let mut reqs = Vec::new();
                for (k, v) in o {
                    let v = v.as_str().unwrap_or_default().to_string();
                    reqs.push(Requirement::new(k, Operator::Equals, vec![v])?);
                }
                Ok(Self::from_requirements(reqs))
            }
            _ => Ok(Self::everything()),
        }
    }

    /// Does the selector hold for these labels?
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Match against a JSON labels map (`metadata.labels`; `null` = no labels).
    pub fn matches_value(&self, labels: &Value) -> bool {
        self.matches(&labels_of(labels))
    }

    /// Match against an object's `metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.matches_value(obj.pointer("/metadata/labels").unwrap_or(&Value::Null))
    }
}

/// Labels map out of a JSON object (non-string values are skipped).
pub fn labels_of(labels: &Value) -> BTreeMap<String, String> {
    labels
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(|r| r.to_string()).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests;
