//! SPDY/3 frames and their wire encoding.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::zlib::{HeaderCompressor, HeaderDecompressor};
use crate::error::{Error, Result};

pub const FLAG_FIN: u8 = 0x01;
pub const FLAG_UNIDIRECTIONAL: u8 = 0x02;
/// Largest frame payload accepted (the length field has 24 bits).
pub const MAX_FRAME: usize = (1 << 24) - 1;

const VERSION: u16 = 3;
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// Name/value pairs of a header block (names lowercase; several values joined by NUL).
pub type Headers = Vec<(String, String)>;

/// One SPDY/3 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Data {
        stream_id: u32,
        flags: u8,
        data: Bytes,
    },
    SynStream {
        stream_id: u32,
        associated_to: u32,
        priority: u8,
        flags: u8,
        headers: Headers,
    },
    SynReply {
        stream_id: u32,
        flags: u8,
        headers: Headers,
    },
    RstStream {
        stream_id: u32,
        status: u32,
    },
    Settings {
        flags: u8,
        entries: Vec<(u8, u32, u32)>,
    },
    Ping {
        id: u32,
    },
    GoAway {
        last_good_stream_id: u32,
        status: u32,
    },
    Headers {
        stream_id: u32,
        flags: u8,
        headers: Headers,
    },
    WindowUpdate {
        stream_id: u32,
        delta: u32,
    },
    /// A control frame of a type this codec does not know (skipped).
    Unknown {
        kind: u16,
    },
}

/// The first value of header `name` (names are compared case-insensitively).
pub fn header<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.split('\0').next().unwrap_or(""))
}

/// Encoder and decoder of one connection (each keeps its own zlib stream).
#[derive(Default)]
pub struct Codec {
    compressor: HeaderCompressor,
    decompressor: HeaderDecompressor,
}

fn encode_block(headers: &Headers) -> Vec<u8> {
    let mut b = Vec::new();
    b.put_u32(headers.len() as u32);
    for (k, v) in headers {
        let k = k.to_ascii_lowercase();
        b.put_u32(k.len() as u32);
        b.put_slice(k.as_bytes());
        b.put_u32(v.len() as u32);
        b.put_slice(v.as_bytes());
    }
    b
}

fn take_u32(b: &mut &[u8]) -> Result<u32> {
    if b.len() < 4 {
        return Err(Error::Protocol("truncated header block".into()));
    }
    Ok(b.get_u32())
}

fn take_str(b: &mut &[u8]) -> Result<String> {
    let n = take_u32(b)? as usize;
    if b.len() < n {
        return Err(Error::Protocol("truncated header block".into()));
    }
    let s = String::from_utf8_lossy(&b[..n]).into_owned();
    b.advance(n);
    Ok(s)
}

fn decode_block(mut b: &[u8]) -> Result<Headers> {
    let count = take_u32(&mut b)? as usize;
    if count > b.len() / 8 + 1 {
        return Err(Error::Protocol(format!(
            "header block claims {count} pairs"
        )));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let k = take_str(&mut b)?;
        let v = take_str(&mut b)?;
        out.push((k.to_ascii_lowercase(), v));
    }
    Ok(out)
}

fn control(out: &mut BytesMut, kind: u16, flags: u8, payload: &[u8]) {
    out.put_u16(0x8000 | VERSION);
    out.put_u16(kind);
    out.put_u32(((flags as u32) << 24) | payload.len() as u32);
    out.put_slice(payload);
}

impl Codec {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append the wire form of `frame` to `out`.
    pub fn encode(&mut self, frame: &Frame, out: &mut BytesMut) -> Result<()> {
        let mut p = Vec::new();
        match frame {
            Frame::Data {
                stream_id,
                flags,
                data,
            } => {
                if data.len() > MAX_FRAME {
                    return Err(Error::Protocol("data frame too large".into()));
                }
                out.put_u32(stream_id & 0x7fff_ffff);
                out.put_u32(((*flags as u32) << 24) | data.len() as u32);
                out.put_slice(data);
                return Ok(());
            }
            Frame::SynStream {
                stream_id,
                associated_to,
                priority,
                flags,
                headers,
            } => {
                p.put_u32(stream_id & 0x7fff_ffff);
                p.put_u32(associated_to & 0x7fff_ffff);
                p.put_u8((priority & 0x7) << 5);
                p.put_u8(0);
                p.extend(self.compressor.compress(&encode_block(headers))?);
                control(out, SYN_STREAM, *flags, &p);
            }
            Frame::SynReply {
                stream_id,
                flags,
                headers,
            } => {
                p.put_u32(stream_id & 0x7fff_ffff);
                p.extend(self.compressor.compress(&encode_block(headers))?);
                control(out, SYN_REPLY, *flags, &p);
            }
            Frame::Headers {
                stream_id,
                flags,
                headers,
            } => {
                p.put_u32(stream_id & 0x7fff_ffff);
                p.extend(self.compressor.compress(&encode_block(headers))?);
                control(out, HEADERS, *flags, &p);
            }
            Frame::RstStream { stream_id, status } => {
                p.put_u32(stream_id & 0x7fff_ffff);
                p.put_u32(*status);
                control(out, RST_STREAM, 0, &p);
            }
            Frame::Settings { flags, entries } => {
                p.put_u32(entries.len() as u32);
                for (f, id, v) in entries {
                    p.put_u32(((*f as u32) << 24) | (id & 0xff_ffff));
                    p.put_u32(*v);
                }
                control(out, SETTINGS, *flags, &p);
            }
            Frame::Ping { id } => control(out, PING, 0, &id.to_be_bytes()),
            Frame::GoAway {
                last_good_stream_id,
                status,
            } => {
                p.put_u32(last_good_stream_id & 0x7fff_ffff);
                p.put_u32(*status);
                control(out, GOAWAY, 0, &p);
            }
            Frame::WindowUpdate { stream_id, delta } => {
                p.put_u32(stream_id & 0x7fff_ffff);
                p.put_u32(delta & 0x7fff_ffff);
                control(out, WINDOW_UPDATE, 0, &p);
            }
            Frame::Unknown { kind } => control(out, *kind, 0, &[]),
        }
        Ok(())
    }

    /// Take one complete frame off the front of `buf`; `None` when more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>> {
        if buf.len() < 8 {
            return Ok(None);
        }
        let len = (u32::from_be_bytes([0, buf[5], buf[6], buf[7]])) as usize;
        if buf.len() < 8 + len {
            return Ok(None);
        }
        let mut head = buf.split_to(8);
        let payload = buf.split_to(len).freeze();
        let first = head.get_u32();
        let flags_len = head.get_u32();
        let flags = (flags_len >> 24) as u8;
        if first & 0x8000_0000 == 0 {
            return Ok(Some(Frame::Data {
                stream_id: first & 0x7fff_ffff,
                flags,
                data: payload,
            }));
        }
        let version = ((first >> 16) & 0x7fff) as u16;
        if version != VERSION {
            return Err(Error::Protocol(format!(
                "unsupported SPDY version {version}"
            )));
        }
        let kind = (first & 0xffff) as u16;
        let mut p: &[u8] = &payload;
        let need = |p: &[u8], n: usize| {
            if p.len() < n {
                Err(Error::Protocol(format!("control frame {kind} too short")))
            } else {
                Ok(())
            }
        };
        let frame = match kind {
            SYN_STREAM => {
                need(p, 10)?;
                let stream_id = p.get_u32() & 0x7fff_ffff;
                let associated_to = p.get_u32() & 0x7fff_ffff;
                let priority = p.get_u8() >> 5;
                let _slot = p.get_u8();
                let headers = decode_block(&self.decompressor.decompress(p)?)?;
                Frame::SynStream {
                    stream_id,
                    associated_to,
                    priority,
                    flags,
                    headers,
                }
            }
            SYN_REPLY | HEADERS => {
                need(p, 4)?;
                let stream_id = p.get_u32() & 0x7fff_ffff;
                let headers = decode_block(&self.decompressor.decompress(p)?)?;
                if kind == SYN_REPLY {
                    Frame::SynReply {
                        stream_id,
                        flags,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        stream_id,
                        flags,
                        headers,
                    }
                }
            }
            RST_STREAM => {
                need(p, 8)?;
                Frame::RstStream {
                    stream_id: p.get_u32() & 0x7fff_ffff,
                    status: p.get_u32(),
                }
            }
            SETTINGS => {
                need(p, 4)?;
                let n = p.get_u32() as usize;
                need(p, n.saturating_mul(8))?;
                let entries = (0..n)
                    .map(|_| {
                        let a = p.get_u32();
                        ((a >> 24) as u8, a & 0xff_ffff, p.get_u32())
                    })
                    .collect();
                Frame::Settings { flags, entries }
            }
            PING => {
                need(p, 4)?;
                Frame::Ping { id: p.get_u32() }
            }
            GOAWAY => {
                need(p, 8)?;
                Frame::GoAway {
                    last_good_stream_id: p.get_u32() & 0x7fff_ffff,
                    status: p.get_u32(),
                }
            }
            WINDOW_UPDATE => {
                need(p, 8)?;
                Frame::WindowUpdate {
                    stream_id: p.get_u32() & 0x7fff_ffff,
                    delta: p.get_u32() & 0x7fff_ffff,
                }
            }
            other => Frame::Unknown { kind: other },
        };
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(frames: &[Frame]) -> Vec<Frame> {
        let mut tx = Codec::new();
        let mut rx = Codec::new();
        let mut wire = BytesMut::new();
        for f in frames {
            tx.encode(f, &mut wire).expect("encode");
        }
        let mut out = Vec::new();
        // Feed byte by byte to exercise partial frames.
        let mut buf = BytesMut::new();
        for b in wire.iter() {
            buf.put_u8(*b);
            while let Some(f) = rx.decode(&mut buf).expect("decode") {
                out.push(f);
            }
        }
        out
    }

    #[test]
    fn every_frame_round_trips() {
        let hdrs = vec![
            ("streamtype".to_string(), "error".to_string()),
            ("port".to_string(), "8080".to_string()),
        ];
        let frames = vec![
            Frame::SynStream {
                stream_id: 1,
                associated_to: 0,
                priority: 3,
                flags: FLAG_FIN,
                headers: hdrs.clone(),
            },
            Frame::SynReply {
                stream_id: 1,
                flags: 0,
                headers: vec![],
            },
            Frame::Data {
                stream_id: 1,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"hello"),
            },
            Frame::Headers {
                stream_id: 3,
                flags: 0,
                headers: hdrs.clone(),
            },
            Frame::RstStream {
                stream_id: 3,
                status: 5,
            },
            Frame::Settings {
                flags: 0,
                entries: vec![(0, 7, 65536)],
            },
            Frame::Ping { id: 7 },
            Frame::GoAway {
                last_good_stream_id: 5,
                status: 0,
            },
            Frame::WindowUpdate {
                stream_id: 1,
                delta: 1024,
            },
            Frame::SynStream {
                stream_id: 5,
                associated_to: 0,
                priority: 0,
                flags: 0,
                headers: hdrs,
            },
        ];
        assert_eq!(round_trip(&frames), frames);
    }

    #[test]
    fn data_frame_wire_layout() {
        let mut c = Codec::new();
        let mut out = BytesMut::new();
        c.encode(
            &Frame::Data {
                stream_id: 3,
                flags: FLAG_FIN,
                data: Bytes::from_static(b"ab"),
            },
            &mut out,
        )
        .expect("encode");
        assert_eq!(&out[..], &[0, 0, 0, 3, 1, 0, 0, 2, b'a', b'b']);
    }

    #[test]
    fn control_frame_wire_layout() {
        let mut c = Codec::new();
        let mut out = BytesMut::new();
        c.encode(&Frame::Ping { id: 9 }, &mut out).expect("encode");
        assert_eq!(&out[..], &[0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 9]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let mut c = Codec::new();
        // SPDY/2 control frame.
        let mut b = BytesMut::from(&[0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1][..]);
        assert!(c.decode(&mut b).is_err());
        // Short PING.
        let mut b = BytesMut::from(&[0x80, 3, 0, 6, 0, 0, 0, 2, 0, 0][..]);
        assert!(c.decode(&mut b).is_err());
        // SYN_STREAM with a corrupt header block.
        let mut b = BytesMut::from(
            &[
                0x80, 3, 0, 1, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2,
            ][..],
        );
        assert!(c.decode(&mut b).is_err());
        // Unknown control type is skipped.
        let mut b = BytesMut::from(&[0x80, 3, 0, 42, 0, 0, 0, 0][..]);
        assert_eq!(
            c.decode(&mut b).ok().flatten(),
            Some(Frame::Unknown { kind: 42 })
        );
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_takes_first_value() {
        let h = vec![("StreamType".to_string(), "data\0other".to_string())];
        assert_eq!(header(&h, "streamtype"), Some("data"));
        assert_eq!(header(&h, "port"), None);
    }
}
