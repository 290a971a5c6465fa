//! SPDY/3.1 framing: control and data frames, header blocks, and a server session.
//!
//! Only what Kubernetes' streaming needs: peers open streams with SYN_STREAM, the server
//! answers SYN_REPLY; data frames with FIN half-close a stream. Flow control is not enforced
//! (the Go client used by kubectl does not enforce it either); WINDOW_UPDATE and SETTINGS are
//! parsed and ignored.

mod frame;
mod session;
pub mod zlib;

pub use frame::{Codec, FLAG_FIN, FLAG_UNIDIRECTIONAL, Frame, Headers, MAX_FRAME, header};
pub use session::{Session, SpdyStream, StreamWriter};

/// The HTTP Upgrade token for SPDY/3.1.
pub const UPGRADE: &str = "SPDY/3.1";
/// WebSocket subprotocol tunnelling SPDY port-forwarding (kubectl ≥ 1.30).
pub const PORTFORWARD_TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";
/// The port-forward stream protocol.
pub const PORTFORWARD_PROTOCOL: &str = "portforward.k8s.io";
