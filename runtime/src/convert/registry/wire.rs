//! Confluent's wire format: byte 0 is the magic byte 0, bytes 1..5 the schema id
//! (big-endian), then the serialized body (for Protobuf, message indexes come first).

use crate::convert::ConvertError;

/// The first byte of every record written through a Schema Registry serializer.
pub const MAGIC_BYTE: u8 = 0;

/// The magic byte and schema id, followed by `body`.
pub fn frame(id: i32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The schema id and the body of a framed record; a clear error if the bytes were not
/// written in Confluent's wire format.
pub fn unframe(bytes: &[u8]) -> Result<(i32, &[u8]), ConvertError> {
    if bytes.len() < 5 {
        return Err(ConvertError::new(format!(
            "Schema Registry wire format: the data holds {} byte(s), fewer than the 5 of the magic byte and schema id; it was not written by a Schema Registry serializer",
            bytes.len()
        )));
    }
    if bytes[0] != MAGIC_BYTE {
        return Err(ConvertError::new(format!(
            "Schema Registry wire format: unknown magic byte {} (expected {}); the data was not written by a Schema Registry serializer",
            bytes[0], MAGIC_BYTE
        )));
    }
    let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    Ok((id, &bytes[5..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_unframes() {
        let b = frame(258, b"xy");
        assert_eq!(b, vec![0, 0, 0, 1, 2, b'x', b'y']);
        assert_eq!(unframe(&b).unwrap(), (258, &b"xy"[..]));
    }

    #[test]
    fn bad_magic_and_short_data_are_named() {
        let e = unframe(&[7, 0, 0, 0, 1, 9]).unwrap_err();
        assert!(e.0.contains("unknown magic byte 7"), "{}", e.0);
        let e = unframe(&[0, 0, 1]).unwrap_err();
        assert!(e.0.contains("3 byte(s)"), "{}", e.0);
    }
}
