//! The `channel.k8s.io` WebSocket protocols: one byte of channel, then the payload.
//!
//! Channels: 0 stdin, 1 stdout, 2 stderr, 3 error (a `metav1.Status` from v4 on), 4 resize
//! (`{"Width":..,"Height":..}`); v5 adds 255, a close signal `[255, channel]` (half-close).
//! The `base64` variants send text messages whose first character is the channel digit.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};

pub const STDIN: u8 = 0;
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const ERROR: u8 = 3;
pub const RESIZE: u8 = 4;
/// v5 close signal: the next byte names the channel being closed.
pub const CLOSE: u8 = 255;

/// A negotiated `channel.k8s.io` protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `channel.k8s.io` (also used when none was negotiated): error channel carries text.
    V1,
    /// `v4.channel.k8s.io`: error channel carries a Status, resize channel exists.
    V4,
    /// `v5.channel.k8s.io`: v4 plus the close signal.
    V5,
    /// `base64.channel.k8s.io`.
    Base64V1,
    /// `v4.base64.channel.k8s.io`.
    Base64V4,
}

/// Subprotocols the server accepts, most preferred first.
pub const PROTOCOLS: [&str; 5] = [
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
];

impl Protocol {
    /// The protocol for a negotiated subprotocol name (`None`/unknown → v1).
    pub fn from_name(name: Option<&str>) -> Protocol {
        match name {
            Some("v5.channel.k8s.io") => Protocol::V5,
            Some("v4.channel.k8s.io") => Protocol::V4,
            Some("v4.base64.channel.k8s.io") => Protocol::Base64V4,
            Some("base64.channel.k8s.io") => Protocol::Base64V1,
            _ => Protocol::V1,
        }
    }

    pub fn is_base64(self) -> bool {
        matches!(self, Protocol::Base64V1 | Protocol::Base64V4)
    }

    /// Whether the error channel carries a JSON `metav1.Status` (v4 and later).
    pub fn status_errors(self) -> bool {
        matches!(self, Protocol::V4 | Protocol::V5 | Protocol::Base64V4)
    }
}

/// A decoded client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Data for a channel.
    Data(u8, Vec<u8>),
    /// v5: the client will send nothing more on this channel.
    Close(u8),
}

/// An encoded message: binary, or text for the base64 variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoded {
    Binary(Vec<u8>),
    Text(String),
}

/// Encode `data` for `channel`.
pub fn encode(protocol: Protocol, channel: u8, data: &[u8]) -> Encoded {
    if protocol.is_base64() {
        let mut s = String::with_capacity(1 + data.len() * 4 / 3 + 4);
        s.push(char::from(b'0' + channel.min(9)));
        base64::engine::general_purpose::STANDARD.encode_string(data, &mut s);
        Encoded::Text(s)
    } else {
        let mut v = Vec::with_capacity(data.len() + 1);
        v.push(channel);
        v.extend_from_slice(data);
        Encoded::Binary(v)
    }
}

/// Decode a binary message.
pub fn decode_binary(protocol: Protocol, msg: &[u8]) -> Result<Option<Incoming>> {
    let Some((&channel, rest)) = msg.split_first() else {
        return Ok(None);
    };
    if channel == CLOSE && protocol == Protocol::V5 {
        let target = rest
            .first()
            .ok_or_else(|| Error::Protocol("close signal without a channel".into()))?;
        return Ok(Some(Incoming::Close(*target)));
    }
    Ok(Some(Incoming::Data(channel, rest.to_vec())))
}

/// Decode a text message of a base64 variant.
pub fn decode_text(msg: &str) -> Result<Option<Incoming>> {
    let mut chars = msg.chars();
    let Some(c) = chars.next() else {
        return Ok(None);
    };
    let channel = c
        .to_digit(10)
        .ok_or_else(|| Error::Protocol(format!("invalid channel {c:?}")))? as u8;
    let data = base64::engine::general_purpose::STANDARD
        .decode(chars.as_str())
        .map_err(|e| Error::Protocol(format!("invalid base64 payload: {e}")))?;
    Ok(Some(Incoming::Data(channel, data)))
}

/// A terminal size as sent on the resize channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TerminalSize {
    #[serde(rename = "Width")]
    pub width: u16,
    #[serde(rename = "Height")]
    pub height: u16,
}

/// Parse every complete JSON size object in `buf`, leaving an incomplete tail in place.
pub fn parse_resizes(buf: &mut Vec<u8>) -> Vec<TerminalSize> {
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<TerminalSize>();
    loop {
        match stream.next() {
            Some(Ok(size)) => {
                out.push(size);
                consumed = stream.byte_offset();
            }
            Some(Err(e)) if e.is_eof() => break,
            Some(Err(_)) => {
                // Garbage: drop everything seen so far.
                consumed = buf.len();
                break;
            }
            None => {
                consumed = buf.len();
                break;
            }
        }
    }
    buf.drain(..consumed);
    out
}

/// The `metav1.Status` sent on the error channel when the command exited 0.
pub fn success_status() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
}

/// The `metav1.Status` for a non-zero exit code.
pub fn exit_status(code: i32) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: command exited with {code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]}
    })
}

/// The `metav1.Status` for a failure to run at all.
pub fn failure_status(message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "InternalError",
        "code": 500
    })
}

/// What to write on the error channel for `status` under `protocol`: the Status JSON (v4+),
/// or its message for v1 (nothing on success).
pub fn error_payload(protocol: Protocol, status: &Value) -> Option<Vec<u8>> {
    if protocol.status_errors() {
        return Some(status.to_string().into_bytes());
    }
    if status.get("status").and_then(Value::as_str) == Some("Success") {
        return None;
    }
    let msg = status.get("message").and_then(Value::as_str).unwrap_or("");
    Some(msg.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_round_trip() {
        let Encoded::Binary(msg) = encode(Protocol::V5, STDOUT, b"hi") else {
            panic!("binary expected");
        };
        assert_eq!(msg, vec![1, b'h', b'i']);
        assert_eq!(
            decode_binary(Protocol::V5, &msg).ok().flatten(),
            Some(Incoming::Data(1, b"hi".to_vec()))
        );
    }

    #[test]
    fn v5_close_signal_only_in_v5() {
        assert_eq!(
            decode_binary(Protocol::V5, &[255, 0]).ok().flatten(),
            Some(Incoming::Close(STDIN))
        );
        assert_eq!(
            decode_binary(Protocol::V4, &[255, 0]).ok().flatten(),
            Some(Incoming::Data(255, vec![0]))
        );
        assert!(decode_binary(Protocol::V5, &[255]).is_err());
        assert_eq!(decode_binary(Protocol::V5, &[]).ok().flatten(), None);
    }

    #[test]
    fn base64_round_trip() {
        let Encoded::Text(msg) = encode(Protocol::Base64V4, STDERR, b"oops") else {
            panic!("text expected");
        };
        assert_eq!(msg, "2b29wcw==");
        assert_eq!(
            decode_text(&msg).ok().flatten(),
            Some(Incoming::Data(2, b"oops".to_vec()))
        );
        assert!(decode_text("x!!").is_err());
    }

    #[test]
    fn resize_stream_parsing_keeps_partial_tail() {
        let mut buf = br#"{"Width":80,"Height":24}{"Width":100,"#.to_vec();
        let sizes = parse_resizes(&mut buf);
        assert_eq!(
            sizes,
            vec![TerminalSize {
                width: 80,
                height: 24
            }]
        );
        assert_eq!(buf, br#"{"Width":100,"#.to_vec());
        buf.extend_from_slice(br#""Height":30}"#);
        assert_eq!(parse_resizes(&mut buf)[0].width, 100);
        assert!(buf.is_empty());
    }

    #[test]
    fn exit_status_has_exit_code_cause() {
        let s = exit_status(3);
        assert_eq!(s["reason"], "NonZeroExitCode");
        assert_eq!(s["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(s["details"]["causes"][0]["message"], "3");
        assert_eq!(success_status()["status"], "Success");
        assert_eq!(error_payload(Protocol::V1, &success_status()), None);
        assert_eq!(
            error_payload(Protocol::V1, &failure_status("boom")),
            Some(b"boom".to_vec())
        );
    }

    #[test]
    fn protocol_names() {
        assert_eq!(Protocol::from_name(Some("v5.channel.k8s.io")), Protocol::V5);
        assert_eq!(Protocol::from_name(None), Protocol::V1);
        assert!(Protocol::Base64V4.status_errors());
    }
}
