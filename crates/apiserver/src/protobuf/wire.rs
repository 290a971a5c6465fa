//! Protocol-buffers wire format: varints and the tagged fields of one message.

use super::ProtobufError;

/// One field occurrence as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

/// Read a base-128 varint at `*pos`, advancing it.
pub fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, ProtobufError> {
    let mut out = 0u64;
    for shift in (0..70).step_by(7) {
        let byte = *buf.get(*pos).ok_or(ProtobufError::Truncated)?;
        *pos += 1;
        if shift == 63 && byte > 1 {
            return Err(ProtobufError::Malformed("varint overflows 64 bits".into()));
        }
        out |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(ProtobufError::Malformed(
        "varint longer than 10 bytes".into(),
    ))
}

fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> Result<&'a [u8], ProtobufError> {
    let end = pos.checked_add(n).ok_or(ProtobufError::Truncated)?;
    let out = buf.get(*pos..end).ok_or(ProtobufError::Truncated)?;
    *pos = end;
    Ok(out)
}

/// Split a message into its `(tag, value)` occurrences, in wire order.
pub fn fields(buf: &[u8]) -> Result<Vec<(u32, Value<'_>)>, ProtobufError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let tag = u32::try_from(key >> 3).map_err(|_| {
            ProtobufError::Malformed(format!("field number {} too large", key >> 3))
        })?;
        if tag == 0 {
            return Err(ProtobufError::Malformed("field number 0".into()));
        }
        let value = match key & 7 {
            0 => Value::Varint(varint(buf, &mut pos)?),
            1 => {
                let b = take(buf, &mut pos, 8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Value::Fixed64(u64::from_le_bytes(a))
            }
            2 => {
                let len = varint(buf, &mut pos)?;
                let len = usize::try_from(len).map_err(|_| ProtobufError::Truncated)?;
                Value::Bytes(take(buf, &mut pos, len)?)
            }
            5 => {
                let b = take(buf, &mut pos, 4)?;
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                Value::Fixed32(u32::from_le_bytes(a))
            }
            w => {
                return Err(ProtobufError::Malformed(format!(
                    "unsupported wire type {w} for field {tag}"
                )));
            }
        };
        out.push((tag, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_fields() {
        let mut pos = 0;
        assert_eq!(varint(&[0xac, 0x02], &mut pos).ok(), Some(300));
        assert_eq!(pos, 2);
        let msg = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i'];
        let f = fields(&msg).unwrap_or_default();
        assert_eq!(f, vec![(1, Value::Varint(150)), (2, Value::Bytes(b"hi"))]);
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert!(matches!(
            fields(&[0x12, 0x05, b'a']),
            Err(ProtobufError::Truncated)
        ));
        assert!(matches!(fields(&[0x08]), Err(ProtobufError::Truncated)));
        assert!(fields(&[0x0b]).is_err());
    }
}
