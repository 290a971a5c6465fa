//! Table-driven conversion of a protobuf message into the JSON Go's encoding/json would give.

use base64::Engine;
use serde_json::{Map, Value as Json};

use super::ProtobufError;
use super::table::MESSAGES;
use super::wire::{self, Value};

/// The layout of one message.
#[derive(Debug)]
pub struct Message {
    /// `<k8s-pb module path>/<Message>`, e.g. `api/core/v1/ConfigMap`.
    pub name: &'static str,
    /// Fields sorted by tag.
    pub fields: &'static [Field],
}

/// One field of a message.
#[derive(Debug)]
pub struct Field {
    pub tag: u32,
    /// JSON name; empty for inlined embedded structs, `-` for fields JSON leaves out.
    pub json: &'static str,
    pub kind: Kind,
    /// The message type of `Msg` fields and `Msg` map values.
    pub target: &'static str,
    pub flags: u8,
}

impl Field {
    pub const REPEATED: u8 = 1;
    /// A Go pointer: present on the wire exactly when set, zero values included.
    pub const POINTER: u8 = 2;
    pub const OMITEMPTY: u8 = 4;
    pub const OMITZERO: u8 = 8;
    /// An embedded struct whose fields appear in the parent's JSON object.
    pub const INLINE: u8 = 16;

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The wire kind of a field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Str,
    Bytes,
    Bool,
    I32,
    I64,
    F64,
    Msg,
    /// `map<key, value>`: repeated entry messages {key = 1, value = 2}.
    Map(Elem, Elem),
}

/// The kind of a map key or value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elem {
    Str,
    Bytes,
    Msg,
}

/// Nesting deeper than this is refused (recursive types such as JSONSchemaProps).
pub const MAX_DEPTH: usize = 100;

/// Look a message up by full name.
pub fn find(name: &str) -> Option<&'static Message> {
    MESSAGES
        .binary_search_by(|m| m.name.cmp(name))
        .ok()
        .and_then(|i| MESSAGES.get(i))
}

fn field_error(field: &str, why: impl Into<String>) -> ProtobufError {
    ProtobufError::Field {
        field: field.to_string(),
        why: why.into(),
    }
}

/// Convert the encoded message `buf` of type `name` into JSON.
pub fn message(name: &str, buf: &[u8], depth: usize) -> Result<Json, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep(MAX_DEPTH));
    }
    if let Some(v) = special(name, buf, depth)? {
        return Ok(v);
    }
    let msg = find(name).ok_or_else(|| ProtobufError::UnknownMessage(name.to_string()))?;
    Ok(Json::Object(object(msg, buf, depth)?))
}

/// Messages whose JSON form is not an object of their fields.
fn special(name: &str, buf: &[u8], depth: usize) -> Result<Option<Json>, ProtobufError> {
    let Some(short) = name.rsplit('/').next() else {
        return Ok(None);
    };
    let json_kind = name.starts_with("apiextensions_apiserver/");
    let v = match name {
        "apimachinery/pkg/apis/meta/v1/Time" => time(buf, false)?,
        "apimachinery/pkg/apis/meta/v1/MicroTime" => time(buf, true)?,
        "apimachinery/pkg/apis/meta/v1/Duration" => {
            Json::String(go_duration(int_field(buf, 1)?.unwrap_or(0) as i64))
        }
        "apimachinery/pkg/apis/meta/v1/FieldsV1" => raw_json(buf, "fieldsV1")?,
        "apimachinery/pkg/runtime/RawExtension" => raw_json(buf, "raw")?,
        "apimachinery/pkg/api/resource/Quantity" => {
            let s = str_field(buf, 1)?.unwrap_or_default();
            Json::String(if s.is_empty() { "0".into() } else { s })
        }
        "apimachinery/pkg/util/intstr/IntOrString" => {
            if int_field(buf, 1)? == Some(1) {
                Json::String(str_field(buf, 3)?.unwrap_or_default())
            } else {
                Json::from(int_field(buf, 2)?.unwrap_or(0) as i64 as i32)
            }
        }
        _ if json_kind && short == "Json" => raw_json(buf, "JSON")?,
        _ if json_kind && short.starts_with("JsonSchemaPropsOr") => {
            schema_or(name, short, buf, depth)?
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// JSONSchemaPropsOrBool/OrArray/OrStringArray: the schema, or the bool/array alternative.
fn schema_or(name: &str, short: &str, buf: &[u8], depth: usize) -> Result<Json, ProtobufError> {
    let props = name.replace(short, "JsonSchemaProps");
    let fields = wire::fields(buf)?;
    let schema_tag = if short == "JsonSchemaPropsOrBool" {
        2
    } else {
        1
    };
    let schema = fields.iter().rev().find_map(|(t, v)| match v {
        Value::Bytes(b) if *t == schema_tag => Some(*b),
        _ => None,
    });
    let others: Vec<&Value<'_>> = fields
        .iter()
        .filter(|(t, _)| *t == 2)
        .map(|(_, v)| v)
        .collect();
    match short {
        "JsonSchemaPropsOrBool" => match schema {
            Some(b) => message(&props, b, depth + 1),
            None => Ok(Json::Bool(
                fields
                    .iter()
                    .any(|(t, v)| *t == 1 && *v == Value::Varint(1)),
            )),
        },
        _ if !others.is_empty() => {
            let kind = if short == "JsonSchemaPropsOrArray" {
                Kind::Msg
            } else {
                Kind::Str
            };
            let mut out = Vec::new();
            for v in others {
                match (kind, v) {
                    (Kind::Msg, Value::Bytes(b)) => out.push(message(&props, b, depth + 1)?),
                    (_, v) => out.push(scalar(Kind::Str, *v, short)?),
                }
            }
            Ok(Json::Array(out))
        }
        _ => match schema {
            Some(b) => message(&props, b, depth + 1),
            None => Ok(Json::Null),
        },
    }
}

fn int_field(buf: &[u8], tag: u32) -> Result<Option<u64>, ProtobufError> {
    let mut out = None;
    for (t, v) in wire::fields(buf)? {
        if t == tag {
            match v {
                Value::Varint(n) => out = Some(n),
                _ => return Err(field_error(&tag.to_string(), "expected a varint")),
            }
        }
    }
    Ok(out)
}

fn str_field(buf: &[u8], tag: u32) -> Result<Option<String>, ProtobufError> {
    let mut out = None;
    for (t, v) in wire::fields(buf)? {
        if t == tag {
            out = Some(scalar(Kind::Str, v, &tag.to_string())?);
        }
    }
    Ok(out.and_then(|v| v.as_str().map(str::to_string)))
}

fn raw_json(buf: &[u8], what: &str) -> Result<Json, ProtobufError> {
    let mut raw: &[u8] = &[];
    for (t, v) in wire::fields(buf)? {
        if let (1, Value::Bytes(b)) = (t, v) {
            raw = b;
        }
    }
    if raw.is_empty() {
        return Ok(Json::Null);
    }
    serde_json::from_slice(raw)
        .map_err(|e| field_error(what, format!("invalid embedded JSON: {e}")))
}

fn time(buf: &[u8], micro: bool) -> Result<Json, ProtobufError> {
    let secs = int_field(buf, 1)?.unwrap_or(0) as i64;
    let nanos = int_field(buf, 2)?.unwrap_or(0) as i64 as i32;
    if secs == 0 && nanos == 0 {
        return Ok(Json::Null);
    }
    let nanos = u32::try_from(nanos).map_err(|_| field_error("time", "negative nanos"))?;
    let t = chrono::DateTime::from_timestamp(secs, nanos)
        .ok_or_else(|| field_error("time", format!("{secs}s out of range")))?;
    let fmt = if micro {
        "%Y-%m-%dT%H:%M:%S%.6fZ"
    } else {
        "%Y-%m-%dT%H:%M:%SZ"
    };
    Ok(Json::String(t.format(fmt).to_string()))
}

/// Go's `time.Duration.String()`.
pub fn go_duration(d: i64) -> String {
    let neg = d < 0;
    let u = d.unsigned_abs();
    let frac = |v: u64, digits: u32| {
        let scale = 10u64.pow(digits);
        let f = format!("{:0width$}", v % scale, width = digits as usize);
        let f = f.trim_end_matches('0');
        if f.is_empty() {
            format!("{}", v / scale)
        } else {
            format!("{}.{f}", v / scale)
        }
    };
    let body = if u == 0 {
        "0s".to_string()
    } else if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", frac(u, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", frac(u, 6))
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let s = frac(u % 60_000_000_000, 9);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else if m > 0 {
            format!("{m}m{s}s")
        } else {
            format!("{s}s")
        }
    };
    if neg { format!("-{body}") } else { body }
}

/// The JSON object of a message with a table layout.
fn object(msg: &Message, buf: &[u8], depth: usize) -> Result<Map<String, Json>, ProtobufError> {
    let occurrences = wire::fields(buf)?;
    let mut out = Map::new();
    for f in msg.fields {
        if f.json == "-" {
            continue;
        }
        let vals: Vec<Value<'_>> = occurrences
            .iter()
            .filter(|(t, _)| *t == f.tag)
            .map(|(_, v)| *v)
            .collect();
        let Some(v) = field(f, &vals, depth)? else {
            continue;
        };
        if f.has(Field::INLINE) || f.json.is_empty() {
            if let Json::Object(inner) = v {
                out.extend(inner);
            }
        } else {
            out.insert(f.json.to_string(), v);
        }
    }
    Ok(out)
}

/// What an absent pointer, slice or map shows as: nothing with omitempty, else null.
fn absent(f: &Field) -> Option<Json> {
    if f.has(Field::OMITEMPTY) || f.has(Field::OMITZERO) {
        None
    } else {
        Some(Json::Null)
    }
}

/// The JSON of one field from all its occurrences; `None` leaves it out.
fn field(f: &Field, vals: &[Value<'_>], depth: usize) -> Result<Option<Json>, ProtobufError> {
    match f.kind {
        Kind::Map(_, value) => {
            if vals.is_empty() {
                return Ok(absent(f));
            }
            let mut out = Map::new();
            for v in vals {
                let Value::Bytes(entry) = v else {
                    return Err(field_error(f.json, "map entry is not length-delimited"));
                };
                let (k, v) = map_entry(f, value, entry, depth)?;
                out.insert(k, v);
            }
            Ok(Some(Json::Object(out)))
        }
        kind if f.has(Field::REPEATED) => {
            if vals.is_empty() {
                return Ok(absent(f));
            }
            let mut out = Vec::new();
            for v in vals {
                match (kind, v) {
                    (Kind::Msg, Value::Bytes(b)) => out.push(message(f.target, b, depth + 1)?),
                    (Kind::Msg, _) => {
                        return Err(field_error(f.json, "message is not length-delimited"));
                    }
                    (Kind::I32 | Kind::I64 | Kind::Bool | Kind::F64, Value::Bytes(b)) => {
                        unpack(kind, b, f.json, &mut out)?;
                    }
                    (kind, v) => out.push(scalar(kind, *v, f.json)?),
                }
            }
            Ok(Some(Json::Array(out)))
        }
        Kind::Msg => {
            let pointer = f.has(Field::POINTER);
            if vals.is_empty() && pointer {
                return Ok(absent(f));
            }
            // Repeated occurrences of a message field merge: concatenation is that merge.
            let mut bytes = Vec::new();
            for v in vals {
                let Value::Bytes(b) = v else {
                    return Err(field_error(f.json, "message is not length-delimited"));
                };
                bytes.extend_from_slice(b);
            }
            let v = message(f.target, &bytes, depth + 1)?;
            let zero = bytes.is_empty() || v.is_null();
            if !pointer && f.has(Field::OMITZERO) && zero {
                return Ok(None);
            }
            Ok(Some(v))
        }
        kind => {
            let pointer = f.has(Field::POINTER);
            let v = match vals.last() {
                Some(v) => scalar(kind, *v, f.json)?,
                None if pointer || kind == Kind::Bytes => return Ok(absent(f)),
                None => zero(kind),
            };
            let omit = f.has(Field::OMITEMPTY) || f.has(Field::OMITZERO);
            if !pointer && omit && is_zero(&v) {
                return Ok(None);
            }
            Ok(Some(v))
        }
    }
}

fn map_entry(
    f: &Field,
    value: Elem,
    entry: &[u8],
    depth: usize,
) -> Result<(String, Json), ProtobufError> {
    let mut key = String::new();
    let mut val: Option<Value<'_>> = None;
    for (t, v) in wire::fields(entry)? {
        match t {
            1 => {
                if let Json::String(s) = scalar(Kind::Str, v, f.json)? {
                    key = s;
                }
            }
            2 => val = Some(v),
            _ => {}
        }
    }
    let v = match (value, val) {
        (Elem::Str, None) => Json::String(String::new()),
        (Elem::Str, Some(v)) => scalar(Kind::Str, v, f.json)?,
        (Elem::Bytes, None) => Json::String(String::new()),
        (Elem::Bytes, Some(v)) => scalar(Kind::Bytes, v, f.json)?,
        (Elem::Msg, None) => message(f.target, &[], depth + 1)?,
        (Elem::Msg, Some(Value::Bytes(b))) => message(f.target, b, depth + 1)?,
        (Elem::Msg, Some(_)) => {
            return Err(field_error(f.json, "map value is not length-delimited"));
        }
    };
    Ok((key, v))
}

fn unpack(kind: Kind, mut b: &[u8], name: &str, out: &mut Vec<Json>) -> Result<(), ProtobufError> {
    if kind == Kind::F64 {
        while !b.is_empty() {
            let chunk = b.get(..8).ok_or(ProtobufError::Truncated)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(chunk);
            out.push(scalar(kind, Value::Fixed64(u64::from_le_bytes(a)), name)?);
            b = &b[8..];
        }
        return Ok(());
    }
    let mut pos = 0;
    while pos < b.len() {
        let n = wire::varint(b, &mut pos)?;
        out.push(scalar(kind, Value::Varint(n), name)?);
    }
    Ok(())
}

fn zero(kind: Kind) -> Json {
    match kind {
        Kind::Str => Json::String(String::new()),
        Kind::Bool => Json::Bool(false),
        Kind::F64 => Json::from(0.0),
        _ => Json::from(0),
    }
}

fn is_zero(v: &Json) -> bool {
    match v {
        Json::String(s) => s.is_empty(),
        Json::Bool(b) => !b,
        Json::Number(n) => n.as_f64() == Some(0.0),
        Json::Null => true,
        _ => false,
    }
}

/// One scalar occurrence as JSON.
fn scalar(kind: Kind, v: Value<'_>, name: &str) -> Result<Json, ProtobufError> {
    let wrong = || field_error(name, format!("unexpected wire value for a {kind:?} field"));
    Ok(match (kind, v) {
        (Kind::Str, Value::Bytes(b)) => Json::String(
            String::from_utf8(b.to_vec()).map_err(|_| field_error(name, "invalid UTF-8"))?,
        ),
        (Kind::Bytes, Value::Bytes(b)) => {
            Json::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Kind::Bool, Value::Varint(n)) => Json::Bool(n != 0),
        (Kind::I32, Value::Varint(n)) => Json::from(n as i64 as i32),
        (Kind::I64, Value::Varint(n)) => Json::from(n as i64),
        (Kind::F64, Value::Fixed64(n)) => {
            let f = f64::from_bits(n);
            // Go writes whole floats without a fraction.
            if f.fract() == 0.0 && f.abs() < 1e15 {
                return Ok(Json::from(f as i64));
            }
            serde_json::Number::from_f64(f)
                .map(Json::Number)
                .ok_or_else(|| field_error(name, format!("{f} is not a JSON number")))?
        }
        _ => return Err(wrong()),
    })
}
