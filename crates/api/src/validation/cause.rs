//! One validation failure (`metav1.StatusCause`) and upstream's message forms.

use std::fmt;

use serde_json::Value;

/// One field error, as it appears in a `metav1.Status` `details.causes` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The field path, e.g. `spec.containers[0].image`.
    pub field: String,
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`,
    /// `FieldValueDuplicate`, `FieldValueForbidden`, `FieldValueTooLong`, `FieldValueNotFound`.
    pub reason: String,
    /// The message without the field, e.g. `Required value`.
    pub message: String,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn with_detail(head: &str, detail: &str) -> String {
    if detail.is_empty() {
        head.to_string()
    } else {
        format!("{head}: {detail}")
    }
}

impl Cause {
    fn new(field: &str, reason: &str, message: String) -> Self {
        Cause {
            field: field.to_string(),
            reason: reason.to_string(),
            message,
        }
    }

    /// `Required value[: detail]`.
    pub fn required(field: &str, detail: &str) -> Self {
        Self::new(
            field,
            "FieldValueRequired",
            with_detail("Required value", detail),
        )
    }

    /// `Invalid value: <value>: detail`.
    pub fn invalid(field: &str, value: &Value, detail: &str) -> Self {
        Self::new(
            field,
            "FieldValueInvalid",
            with_detail(&format!("Invalid value: {}", go_repr(value)), detail),
        )
    }

    /// `Invalid value: <repr>: detail` with a ready-made representation.
    pub fn invalid_repr(field: &str, repr: &str, detail: &str) -> Self {
        Self::new(
            field,
            "FieldValueInvalid",
            with_detail(&format!("Invalid value: {repr}"), detail),
        )
    }

    /// `Unsupported value: "x": supported values: "a", "b"`.
    pub fn not_supported(field: &str, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Self::new(
            field,
            "FieldValueNotSupported",
            format!(
                "Unsupported value: {}: supported values: {}",
                go_repr(value),
                list.join(", ")
            ),
        )
    }

    /// `Duplicate value: <value>`.
    pub fn duplicate(field: &str, value: &Value) -> Self {
        Self::new(
            field,
            "FieldValueDuplicate",
            format!("Duplicate value: {}", go_repr(value)),
        )
    }

    /// `Forbidden: detail`.
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(
            field,
            "FieldValueForbidden",
            with_detail("Forbidden", detail),
        )
    }

    /// `Too long: must have at most N bytes`.
    pub fn too_long(field: &str, max: usize) -> Self {
        Self::new(
            field,
            "FieldValueTooLong",
            format!("Too long: must have at most {max} bytes"),
        )
    }

    /// `Not found: <value>`.
    pub fn not_found(field: &str, value: &Value) -> Self {
        Self::new(
            field,
            "FieldValueNotFound",
            format!("Not found: {}", go_repr(value)),
        )
    }
}

/// Go's `%#v`-like rendering upstream puts after `Invalid value:`: strings quoted, maps of
/// strings as `map[string]string{"k":"v"}`, string lists as `[]string{"a", "b"}`, other
/// values as compact JSON.
pub fn go_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::Object(m) if m.values().all(Value::is_string) => {
            let mut pairs: Vec<(&String, &Value)> = m.iter().collect();
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> = pairs
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", go_repr(v)))
                .collect();
            format!("map[string]string{{{}}}", body.join(", "))
        }
        Value::Array(a) if a.iter().all(Value::is_string) => {
            let body: Vec<String> = a.iter().map(go_repr).collect();
            format!("[]string{{{}}}", body.join(", "))
        }
        other => other.to_string(),
    }
}

/// `Deployment.apps "web" is invalid: <cause>` or `... is invalid: [<c1>, <c2>]`, as upstream's
/// NewInvalid builds the Status message.
pub fn invalid_message(qualified_kind: &str, name: &str, causes: &[Cause]) -> String {
    let head = format!("{qualified_kind} {name:?} is invalid");
    match causes {
        [] => head,
        [one] => format!("{head}: {one}"),
        many => {
            let all: Vec<String> = many.iter().map(|c| c.to_string()).collect();
            format!("{head}: [{}]", all.join(", "))
        }
    }
}
